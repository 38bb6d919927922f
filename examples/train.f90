! train.f90 - logging from Fortran through include/cairn.f90 (tests/client/test_languages.py
! builds and runs it against a real server).
program train
    use cairn
    use, intrinsic :: iso_c_binding
    implicit none
    type(c_ptr) :: client
    character(len=:), allocatable :: exp_id, run_id
    integer(c_int64_t) :: step
    if (cairn_open(client) /= CAIRN_OK) error stop "open"
    if (cairn_experiment_ensure(client, "fortran", exp_id) /= CAIRN_OK) then
        print *, cairn_error_message()
        error stop 1
    end if
    if (cairn_run_create(client, exp_id, "heat-solver", run_id) /= CAIRN_OK) error stop "run"
    if (cairn_log_param(client, run_id, "grid", "512x512") /= CAIRN_OK) error stop "param"
    do step = 0, 99
        if (cairn_log_metric(client, run_id, "residual", 1.0d0 / real(step + 1, c_double), step) /= CAIRN_OK) &
            error stop "metric"
    end do
    if (cairn_set_tag(client, run_id, "lang", "fortran") /= CAIRN_OK) error stop "tag"
    if (cairn_run_end(client, run_id, "FINISHED") /= CAIRN_OK) error stop "end"
    if (cairn_close(client) /= CAIRN_OK) error stop "close"
    print '(a)', run_id
end program
