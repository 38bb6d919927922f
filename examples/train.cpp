// train.cpp - logging from C++ through include/cairn.h, with the client
// held by a std::unique_ptr (tests/client/test_languages.py builds and runs it).
#include <cairn.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

struct ClientCloser {
    void operator()(cairn_client *c) const { cairn_client_close(c); }
};

std::string take(char *s)
{
    std::string out = s ? s : "";
    cairn_free(s);
    return out;
}

int fail(const char *what)
{
    std::fprintf(stderr, "train: %s: %s\n", what, cairn_error_last()->message);
    return 1;
}

}  // namespace

int main()
{
    cairn_client *raw = nullptr;
    if (cairn_client_open(&raw, nullptr) < 0)
        return fail("open");
    std::unique_ptr<cairn_client, ClientCloser> client(raw);
    char *exp = nullptr, *run = nullptr;
    if (cairn_experiment_ensure(client.get(), "cpp", &exp) < 0)
        return fail("experiment");
    std::string exp_id = take(exp);
    if (cairn_run_create(client.get(), exp_id.c_str(), "four-threads", 0, &run) < 0)
        return fail("run");
    std::string run_id = take(run);
    std::vector<std::thread> workers;
    for (int t = 0; t < 4; t++)
        workers.emplace_back([&, t] {
            std::string key = "worker_" + std::to_string(t);
            for (int step = 0; step < 250; step++)
                cairn_log_metric(client.get(), run_id.c_str(), key.c_str(), step * 0.5, 0, step);
        });
    for (auto &w : workers)
        w.join();
    if (cairn_run_end(client.get(), run_id.c_str(), "FINISHED") < 0)
        return fail("end");
    std::printf("%s\n", run_id.c_str());
    return 0;
}
