/* Privileges: see privs.h.  Capabilities go through libcap-ng: the
 * bounding set is emptied while we still hold CAP_SETPCAP (root, before the
 * switch of user), the effective, permitted, inheritable and ambient sets
 * after it; then the kernel's view is read back and checked. */
#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "privs.h"

/* Empties every capability set of this (still single-threaded) process
 * and checks that none is left in the effective and permitted sets.  The
 * bounding set is emptied too when we may (CAP_SETPCAP); a non-root run
 * with file capabilities may not, and keeps it (it only limits what an
 * exec could gain, and corscope runs nothing).  Returns 0, or -1 with a
 * one-line reason in errbuf. */
static int drop_capabilities(char *errbuf, unsigned errlen)
{
    capng_clear(CAPNG_SELECT_ALL);
    int rc = capng_apply(CAPNG_SELECT_BOUNDS);
    if (rc != 0 && rc != -4) { /* -4: no CAP_SETPCAP, not allowed */
        snprintf(errbuf, errlen, "cannot empty the capability bounding set (libcap-ng %d)", rc);
        return -1;
    }
    capng_clear(CAPNG_SELECT_ALL);
    if (capng_apply(CAPNG_SELECT_CAPS) != 0) {
        snprintf(errbuf, errlen, "cannot drop capabilities: %s", strerror(errno));
        return -1;
    }
    /* The kernel keeps the ambient set within the permitted one, so it is
     * empty now; clearing it is belt and braces (and fails on kernels
     * without ambient capabilities, which then have none to clear). */
    capng_clear(CAPNG_SELECT_ALL);
    (void)capng_apply(CAPNG_SELECT_AMBIENT);
    /* What the kernel now says, not what we asked for. */
    if (capng_get_caps_process() != 0 || capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE ||
        capng_have_permitted_capabilities() != CAPNG_NONE) {
        snprintf(errbuf, errlen, "capabilities are still held after dropping them");
        return -1;
    }
    return 0;
}

int cs_drop_privileges(const char *user, char *errbuf, unsigned errlen)
{
    if (geteuid() != 0 && getuid() != 0) {
        /* Not root: file capabilities (setcap) are all there is to drop;
         * a run without any makes no capability call at all. */
        if (capng_get_caps_process() == 0 && capng_have_capabilities(CAPNG_SELECT_CAPS) == CAPNG_NONE &&
            capng_have_permitted_capabilities() == CAPNG_NONE)
            return 0;
        return drop_capabilities(errbuf, errlen);
    }
    if (strcmp(user, "root") == 0)
        return 0; /* asked to keep root */
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
    /* The bounding set can only be emptied with CAP_SETPCAP, which root
     * still has now and loses with the switch below. */
    capng_clear(CAPNG_SELECT_ALL);
    if (capng_apply(CAPNG_SELECT_BOUNDS) != 0) {
        snprintf(errbuf, errlen, "-Z %s: cannot empty the capability bounding set", user);
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
    /* The kernel clears the permitted and effective sets on leaving uid 0;
     * make sure, and clear the inheritable and ambient ones too. */
    char why[200];
    if (drop_capabilities(why, sizeof why) != 0) {
        snprintf(errbuf, errlen, "-Z %s: %s", user, why);
        return -1;
    }
    return 0;
}
