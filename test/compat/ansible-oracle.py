#!/usr/bin/python3
# Runs ansible-inventory / ansible commands for the inventory compatibility suite, many at once and fast:
# Ansible is imported once, then every command runs in a forked child (a fresh CLI each time, as if started
# from the shell, without paying Python's and Ansible's start-up per command).
# stdin: JSON list of {"id", "cwd", "argv"} (argv[0] is "ansible-inventory" or "ansible");
# stdout: JSON list of {"id", "rc", "stdout", "stderr"}.
import json
import os
import sys
import tempfile

from ansible.cli.adhoc import AdHocCLI
from ansible.cli.inventory import InventoryCLI

CLIS = {'ansible-inventory': InventoryCLI, 'ansible': AdHocCLI}
PARALLEL = int(os.environ.get('ORACLE_JOBS', '2'))


def run_child(job, out_path, err_path):
    os.chdir(job['cwd'])
    out_fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    err_fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    code = 0
    try:
        CLIS[job['argv'][0]].cli_executor(job['argv'])
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:  # noqa: the parent reports it as a failed command
        import traceback
        traceback.print_exc()
        code = 250
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def main():
    jobs = json.load(sys.stdin)
    tmp = tempfile.mkdtemp(prefix='kvmnet-oracle-')
    results = {}
    running = {}
    queue = list(jobs)

    def reap():
        pid, status = os.wait()
        job, out_path, err_path = running.pop(pid)
        with open(out_path, encoding='utf-8', errors='replace') as f:
            stdout = f.read()
        with open(err_path, encoding='utf-8', errors='replace') as f:
            stderr = f.read()
        os.unlink(out_path)
        os.unlink(err_path)
        results[job['id']] = {'id': job['id'], 'rc': os.waitstatus_to_exitcode(status), 'stdout': stdout, 'stderr': stderr}

    n = 0
    while queue or running:
        while queue and len(running) < PARALLEL:
            job = queue.pop(0)
            n += 1
            out_path = os.path.join(tmp, '%d.out' % n)
            err_path = os.path.join(tmp, '%d.err' % n)
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                run_child(job, out_path, err_path)
            running[pid] = (job, out_path, err_path)
        reap()
    os.rmdir(tmp)
    json.dump([results[j['id']] for j in jobs], sys.stdout)


main()
