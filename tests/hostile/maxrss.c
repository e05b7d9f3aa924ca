/* maxrss OUT ERR CMD...: runs CMD with stdout and stderr to the files OUT
 * and ERR and prints "rc peak_rss_kib".
 *
 * For peaks near the fixed overhead: gen.py measure forks from Python, and
 * a forked child's peak includes the pages it shared with its parent before
 * exec (~18 MiB of Python), which hides a 16 MiB peak.  Forked from this
 * small program, the floor is a few hundred KiB. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 4) {
        fputs("usage: maxrss OUT ERR CMD...\n", stderr);
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0)
        return 2;
    if (pid == 0) {
        int out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
            _exit(126);
        execvp(argv[3], argv + 3);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0)
        return 2;
    printf("%d %ld\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), ru.ru_maxrss);
    return 0;
}
