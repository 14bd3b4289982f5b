/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * privs.h - least privilege for `exfilter run`: the capabilities dropped
 * once everything privileged is open, the user it switches to (run_as), and
 * the ownership and mode checks on the files it trusts (SECURITY.md).
 */
#ifndef XF_PRIVS_H
#define XF_PRIVS_H

#include <stddef.h>
#include <sys/types.h>

struct xf_privs {
	int switch_user; /* 0: stay uid 0, capabilities dropped all the same */
	char user[64];
	uid_t uid;
	gid_t gid;
};

/* Resolve run_as ("" = stay root). -ENOENT with "run_as: ..." in err. */
int xf_privs_resolve(const char *user, struct xf_privs *p, char *err, size_t errlen);

/*
 * Give path (a file or directory the sensor keeps writing after the drop)
 * to the run_as user, or to root without one. A missing path is not an
 * error.
 */
int xf_privs_hand_over(const struct xf_privs *p, const char *path);

/*
 * The drop, once every privileged thing is open (maps, programs, attach,
 * AF_PACKET socket, the store). Refuses while the process has more than one
 * thread: capabilities are per thread, and a thread started earlier (say,
 * librdkafka's) would keep all of root's. Sets no_new_privs; clears every
 * capability set and the bounding set; keep_net_admin keeps CAP_NET_ADMIN
 * permitted but not effective, for detaching TC at exit
 * (xf_privs_raise_net_admin()); switches to p's user with setgroups, setgid,
 * setuid in that order; clears the dumpable flag. Then checks the result:
 * the ids, the sets, and that setuid(0) fails. Any failure is -EPERM with a
 * message in err, and the caller must exit.
 */
int xf_privs_drop(const struct xf_privs *p, int keep_net_admin, char *err, size_t errlen);

/* Make the kept CAP_NET_ADMIN effective again, for tear-down. */
int xf_privs_raise_net_admin(void);

/*
 * May a file the sensor is about to trust be trusted? It must be a regular
 * file (not a symlink: lstat), not writable by others, and owned by root,
 * the current user, or owner (another allowed uid, (uid_t)-1 for none).
 * what names it in err: "store.path". A missing file is fine (0): it will
 * be created by this process.
 */
int xf_file_check(const char *path, const char *what, uid_t owner, char *err, size_t errlen);

#endif /* XF_PRIVS_H */
