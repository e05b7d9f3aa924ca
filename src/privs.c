#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "privs.h"

int cs_drop_privileges(const char *user, char *errbuf, unsigned errlen)
{
    if (geteuid() != 0 && getuid() != 0)
        return 0;                 /* nothing to drop */
    if (strcmp(user, "root") == 0)
        return 0;                 /* asked to keep root */
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        snprintf(errbuf, errlen, "-Z %s: no such user%s%s", user, errno ? ": " : "",
                 errno ? strerror(errno) : "");
        return -1;
    }
    if (pw->pw_uid == 0) {
        snprintf(errbuf, errlen, "-Z %s: that user is root; use -Z root to keep root explicitly", user);
        return -1;
    }
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0) {
        snprintf(errbuf, errlen, "-Z %s: cannot switch to uid %u: %s", user, (unsigned)pw->pw_uid,
                 strerror(errno));
        return -1;
    }
    /* Check that the switch really happened, for all three IDs of each. */
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    if (getresuid(&ruid, &euid, &suid) != 0 || getresgid(&rgid, &egid, &sgid) != 0 ||
        ruid != pw->pw_uid || euid != pw->pw_uid || suid != pw->pw_uid ||
        rgid != pw->pw_gid || egid != pw->pw_gid || sgid != pw->pw_gid) {
        snprintf(errbuf, errlen, "-Z %s: the user and group IDs did not change to %u:%u", user,
                 (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
        return -1;
    }
    if (setuid(0) == 0 || geteuid() == 0) {
        snprintf(errbuf, errlen, "-Z %s: root could be regained after dropping privileges", user);
        return -1;
    }
    return 0;
}
