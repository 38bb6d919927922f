"""A throw-away certificate authority for the HTTPS tests (tests/api/test_tls.py,
tests/client/test_tls.py), made with the openssl command line in a temporary
folder at test time: no key is ever committed.

make_certs(dir) writes, all PEM:
    ca.pem, ca.key        a self-signed CA
    server.pem, server.key  a server certificate for 127.0.0.1 and localhost,
                          signed by the CA (serverAuth)
    other.key             a second key, matching nothing (the mismatch case)
    other-ca.pem          another CA, which did not sign the server's certificate
and returns their paths in a dict. Keys are mode 0600.
"""
import os
import subprocess


def _openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{r.stderr}")


def make_certs(folder):
    folder = str(folder)
    os.makedirs(folder, exist_ok=True)
    for name, cn in (("ca", "Cairn Test CA"), ("other-ca", "Cairn Other CA")):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
                 "-subj", f"/CN={cn}", "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=folder)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
             "-keyout", "server.key", "-out", "server.csr", cwd=folder)
    with open(os.path.join(folder, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "basicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-sha256", "-days", "2", "-extfile", "server.ext",
             "-out", "server.pem", cwd=folder)
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
             "-out", "other.key", cwd=folder)
    paths = {k: os.path.join(folder, f) for k, f in (
        ("ca", "ca.pem"), ("ca_key", "ca.key"), ("cert", "server.pem"), ("key", "server.key"),
        ("other_key", "other.key"), ("other_ca", "other-ca.pem"))}
    for k in ("ca_key", "key", "other_key"):
        os.chmod(paths[k], 0o600)
    return paths


def key_secrets(key_path):
    """The base64 lines of a PEM key: none may ever appear in a log."""
    with open(key_path) as f:
        return [line.strip() for line in f
                if line.strip() and not line.startswith("-----") and len(line.strip()) >= 16]


def assert_no_key(text, *key_paths):
    for path in key_paths:
        for line in key_secrets(path):
            assert line not in text, f"a line of {os.path.basename(path)} appears in the output"
        assert "PRIVATE KEY-----" not in text
