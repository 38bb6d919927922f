! cairn.f90 - Fortran 2003 bindings of libcairn (include/cairn.h) through
! iso_c_binding: open a client, get or create an experiment, create a run,
! log params, metrics and tags (queued and batched by libcairn's thread),
! end the run (flushes), read the last error. Every function returns
! libcairn's code: 0 (CAIRN_OK) or negative. Strings are passed as Fortran
! strings (trailing blanks trimmed); ids come back as allocatable strings.
!
!   gfortran -c cairn.f90 && gfortran app.f90 cairn.o $(pkg-config --libs cairn)
module cairn
    use, intrinsic :: iso_c_binding
    implicit none
    private
    public :: cairn_open, cairn_close, cairn_flush, cairn_experiment_ensure, cairn_run_create, &
              cairn_log_param, cairn_log_metric, cairn_set_tag, cairn_run_end, cairn_error_message, &
              CAIRN_OK

    integer(c_int), parameter :: CAIRN_OK = 0

    type, bind(C) :: c_error
        integer(c_int) :: code, http_status
        type(c_ptr) :: error_code, message
    end type

    interface
        function c_open(out, opts) bind(C, name="cairn_client_open") result(rc)
            import :: c_ptr, c_int
            type(c_ptr), intent(out) :: out
            type(c_ptr), value :: opts
            integer(c_int) :: rc
        end function
        function c_close(c) bind(C, name="cairn_client_close") result(rc)
            import :: c_ptr, c_int
            type(c_ptr), value :: c
            integer(c_int) :: rc
        end function
        function c_flush(c) bind(C, name="cairn_client_flush") result(rc)
            import :: c_ptr, c_int
            type(c_ptr), value :: c
            integer(c_int) :: rc
        end function
        function c_ensure(c, name, out) bind(C, name="cairn_experiment_ensure") result(rc)
            import :: c_ptr, c_int, c_char
            type(c_ptr), value :: c
            character(kind=c_char), dimension(*) :: name
            type(c_ptr), intent(out) :: out
            integer(c_int) :: rc
        end function
        function c_run_create(c, exp, name, start, out) bind(C, name="cairn_run_create") result(rc)
            import :: c_ptr, c_int, c_char, c_int64_t
            type(c_ptr), value :: c
            character(kind=c_char), dimension(*) :: exp, name
            integer(c_int64_t), value :: start
            type(c_ptr), intent(out) :: out
            integer(c_int) :: rc
        end function
        function c_log_param(c, run, key, val) bind(C, name="cairn_log_param") result(rc)
            import :: c_ptr, c_int, c_char
            type(c_ptr), value :: c
            character(kind=c_char), dimension(*) :: run, key, val
            integer(c_int) :: rc
        end function
        function c_set_tag(c, run, key, val) bind(C, name="cairn_set_tag") result(rc)
            import :: c_ptr, c_int, c_char
            type(c_ptr), value :: c
            character(kind=c_char), dimension(*) :: run, key, val
            integer(c_int) :: rc
        end function
        function c_log_metric(c, run, key, val, ts, step) bind(C, name="cairn_log_metric") result(rc)
            import :: c_ptr, c_int, c_char, c_double, c_int64_t
            type(c_ptr), value :: c
            character(kind=c_char), dimension(*) :: run, key
            real(c_double), value :: val
            integer(c_int64_t), value :: ts, step
            integer(c_int) :: rc
        end function
        function c_run_end(c, run, status) bind(C, name="cairn_run_end") result(rc)
            import :: c_ptr, c_int, c_char
            type(c_ptr), value :: c
            character(kind=c_char), dimension(*) :: run, status
            integer(c_int) :: rc
        end function
        function c_error_last() bind(C, name="cairn_error_last") result(e)
            import :: c_ptr
            type(c_ptr) :: e
        end function
        subroutine c_free(p) bind(C, name="cairn_free")
            import :: c_ptr
            type(c_ptr), value :: p
        end subroutine
        function c_strlen(s) bind(C, name="strlen") result(n)
            import :: c_ptr, c_size_t
            type(c_ptr), value :: s
            integer(c_size_t) :: n
        end function
    end interface

contains

    function to_c(s) result(r)
        character(len=*), intent(in) :: s
        character(kind=c_char, len=len_trim(s) + 1) :: r
        r = trim(s) // c_null_char
    end function

    ! Copies a NUL-terminated C string into an allocatable Fortran string.
    function from_c(p) result(s)
        type(c_ptr), intent(in) :: p
        character(len=:), allocatable :: s
        character(kind=c_char), pointer :: chars(:)
        integer :: i, n
        if (.not. c_associated(p)) then
            s = ""
            return
        end if
        n = int(c_strlen(p))
        call c_f_pointer(p, chars, [n])
        allocate(character(len=n) :: s)
        do i = 1, n
            s(i:i) = chars(i)
        end do
    end function

    ! Takes a string libcairn returned (and frees it).
    function take(p) result(s)
        type(c_ptr), intent(in) :: p
        character(len=:), allocatable :: s
        s = from_c(p)
        call c_free(p)
    end function

    ! Opens a client configured from the environment (MLFLOW_TRACKING_URI, ...).
    integer(c_int) function cairn_open(client)
        type(c_ptr), intent(out) :: client
        cairn_open = c_open(client, c_null_ptr)
    end function

    integer(c_int) function cairn_close(client)
        type(c_ptr), intent(in) :: client
        cairn_close = c_close(client)
    end function

    integer(c_int) function cairn_flush(client)
        type(c_ptr), intent(in) :: client
        cairn_flush = c_flush(client)
    end function

    integer(c_int) function cairn_experiment_ensure(client, name, id)
        type(c_ptr), intent(in) :: client
        character(len=*), intent(in) :: name
        character(len=:), allocatable, intent(out) :: id
        type(c_ptr) :: out
        out = c_null_ptr
        cairn_experiment_ensure = c_ensure(client, to_c(name), out)
        id = take(out)
    end function

    integer(c_int) function cairn_run_create(client, experiment_id, run_name, run_id)
        type(c_ptr), intent(in) :: client
        character(len=*), intent(in) :: experiment_id, run_name
        character(len=:), allocatable, intent(out) :: run_id
        type(c_ptr) :: out
        out = c_null_ptr
        cairn_run_create = c_run_create(client, to_c(experiment_id), to_c(run_name), 0_c_int64_t, out)
        run_id = take(out)
    end function

    integer(c_int) function cairn_log_param(client, run_id, key, value)
        type(c_ptr), intent(in) :: client
        character(len=*), intent(in) :: run_id, key, value
        cairn_log_param = c_log_param(client, to_c(run_id), to_c(key), to_c(value))
    end function

    integer(c_int) function cairn_set_tag(client, run_id, key, value)
        type(c_ptr), intent(in) :: client
        character(len=*), intent(in) :: run_id, key, value
        cairn_set_tag = c_set_tag(client, to_c(run_id), to_c(key), to_c(value))
    end function

    ! step: the training step; the timestamp is "now".
    integer(c_int) function cairn_log_metric(client, run_id, key, value, step)
        type(c_ptr), intent(in) :: client
        character(len=*), intent(in) :: run_id, key
        real(c_double), intent(in) :: value
        integer(c_int64_t), intent(in) :: step
        cairn_log_metric = c_log_metric(client, to_c(run_id), to_c(key), value, 0_c_int64_t, step)
    end function

    ! Flushes, then sets the status: FINISHED, FAILED or KILLED.
    integer(c_int) function cairn_run_end(client, run_id, status)
        type(c_ptr), intent(in) :: client
        character(len=*), intent(in) :: run_id, status
        cairn_run_end = c_run_end(client, to_c(run_id), to_c(status))
    end function

    ! The calling thread's last error message.
    function cairn_error_message() result(msg)
        character(len=:), allocatable :: msg
        type(c_error), pointer :: e
        call c_f_pointer(c_error_last(), e)
        msg = from_c(e%message)
    end function
end module cairn
