/* Dropping root once the capture is open (tcpdump's -Z). */
#ifndef CS_PRIVS_H
#define CS_PRIVS_H

#define CS_DEFAULT_USER "nobody" /* -Z default when started as root */

/* If running as root and user is not "root": empties the capability
 * bounding set, switches to user's uid, gid and supplementary groups, checks
 * that the real, effective and saved IDs all changed and that root cannot be
 * regained, then clears every capability set.  Not root (for example with
 * file capabilities from setcap): clears the effective, permitted,
 * inheritable and ambient sets (and the bounding set when allowed).  Either
 * way it checks that no effective or permitted capability is left.
 * -Z root keeps root and its capabilities.  Call it before starting any
 * thread (capabilities are per thread).  Returns 0,
 * or -1 with a one-line reason in errbuf. */
int cs_drop_privileges(const char *user, char *errbuf, unsigned errlen);

#endif
