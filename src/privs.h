/* Dropping root once the capture is open (tcpdump's -Z). */
#ifndef CS_PRIVS_H
#define CS_PRIVS_H

#define CS_DEFAULT_USER "nobody"   /* -Z default when started as root */

/* If running as root and user is not "root": switches to user's uid, gid and
 * supplementary groups, then checks that the real, effective and saved IDs all
 * changed and that root cannot be regained.  Returns 0,
 * or -1 with a one-line reason in errbuf. */
int cs_drop_privileges(const char *user, char *errbuf, unsigned errlen);

#endif
