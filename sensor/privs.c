// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * privs.c - least privilege for `exfilter run`. Loading and attaching BPF,
 * the AF_PACKET socket and mounting bpffs need root; running does not: on
 * kernel 6.x a bpf() lookup, update or delete on a map fd already held
 * needs no capability (checked on 6.18: tests/integration/test_privdrop.sh
 * installs a verdict after the drop), the ring buffer is mmapped and the
 * tap socket open. So once all of that is open the sensor drops every
 * capability, optionally keeping CAP_NET_ADMIN permitted (not effective) to
 * detach TC at exit, and switches to run_as. Capabilities through
 * libcap-ng; the checks afterwards are our own.
 */
#define _GNU_SOURCE /* getresuid, getresgid */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <cap-ng.h>

#include "privs.h"

#define CAP_SCAN_MAX 64 /* capability numbers probed when checking the sets */

__attribute__((format(printf, 3, 4))) static int say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EPERM;
}

int xf_privs_resolve(const char *user, struct xf_privs *p, char *err, size_t errlen)
{
	struct passwd *pw;

	memset(p, 0, sizeof(*p));
	if (!user || !*user)
		return 0;
	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen, "run_as: no such user '%s'%s%s", user, errno ? ": " : "",
			 errno ? strerror(errno) : "");
		return -ENOENT;
	}
	snprintf(p->user, sizeof(p->user), "%s", user);
	p->uid = pw->pw_uid;
	p->gid = pw->pw_gid;
	p->switch_user = 1;
	return 0;
}

int xf_privs_hand_over(const struct xf_privs *p, const char *path)
{
	/* without run_as, back to root: a directory a former run_as user
	 * still owned would let that user rename the pins */
	if (lchown(path, p->uid, p->gid) && errno != ENOENT)
		return -errno;
	return 0;
}

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* What the sets must hold now: nothing, or CAP_NET_ADMIN permitted only. */
static int check_caps(int keep_net_admin, char *err, size_t errlen)
{
	if (capng_get_caps_process())
		return say(err, errlen, "failed to read back capabilities");
	for (int c = 0; c < CAP_SCAN_MAX; c++) {
		int kept = keep_net_admin && c == CAP_NET_ADMIN;

		if (capng_have_capability(CAPNG_EFFECTIVE, (unsigned int)c) ||
		    capng_have_capability(CAPNG_INHERITABLE, (unsigned int)c) ||
		    capng_have_capability(CAPNG_AMBIENT, (unsigned int)c) ||
		    (!kept && capng_have_capability(CAPNG_PERMITTED, (unsigned int)c)))
			return say(err, errlen, "capability %s (%d) survived the drop",
				   capng_capability_to_name((unsigned int)c) ?: "?", c);
	}
	return 0;
}

static int check_ids(const struct xf_privs *p, char *err, size_t errlen)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (getresuid(&r, &e, &s) || getresgid(&rg, &eg, &sg))
		return say(err, errlen, "failed to read back ids: %s", strerror(errno));
	if (r != p->uid || e != p->uid || s != p->uid || rg != p->gid || eg != p->gid ||
	    sg != p->gid)
		return say(err, errlen, "run_as: ids of '%s' not fully set (euid %u)", p->user,
			   (unsigned int)e);
	if (getgroups(0, NULL) != 0)
		return say(err, errlen, "run_as: supplementary groups kept for '%s'", p->user);
	/* the proof: root must be out of reach for good */
	if (p->uid && (setuid(0) == 0 || seteuid(0) == 0))
		return say(err, errlen, "run_as: '%s' could become root again", p->user);
	if (p->gid && (setgid(0) == 0 || setegid(0) == 0))
		return say(err, errlen, "run_as: '%s' could take group 0 again", p->user);
	return 0;
}

int xf_privs_drop(const struct xf_privs *p, int keep_net_admin, char *err, size_t errlen)
{
	int n = count_threads(), rc;

	if (n != 1)
		return say(err, errlen,
			   "cannot drop privileges: %d threads (capabilities are "
			   "per thread; drop before starting any)",
			   n);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return say(err, errlen, "failed to set no_new_privs: %s", strerror(errno));
	capng_clear(CAPNG_SELECT_ALL);
	if (keep_net_admin)
		capng_update(CAPNG_ADD, CAPNG_PERMITTED, CAP_NET_ADMIN);
	if (p->switch_user)
		/* setgroups, setresgid, setresuid in that order, keeping only
		 * what is staged above across the uid change */
		rc = capng_change_id((int)p->uid, (int)p->gid,
				     CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING |
					     CAPNG_CLEAR_AMBIENT);
	else
		rc = capng_apply(CAPNG_SELECT_ALL);
	if (rc)
		return say(err, errlen, "failed to drop privileges%s (libcap-ng error %d)",
			   p->switch_user ? " and switch user" : "", rc);
	/* no core dumps of flows and alerts, no ptrace by the run_as user */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		return say(err, errlen, "failed to clear dumpable: %s", strerror(errno));
	if (p->switch_user && (rc = check_ids(p, err, errlen)))
		return rc;
	if (!p->switch_user && geteuid() == 0 && setgroups(0, NULL) == 0)
		return say(err, errlen, "capabilities not dropped: setgroups still works");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return say(err, errlen, "no_new_privs is not set");
	return check_caps(keep_net_admin, err, errlen);
}

int xf_privs_raise_net_admin(void)
{
	if (capng_get_caps_process())
		return -EPERM;
	if (!capng_have_capability(CAPNG_PERMITTED, CAP_NET_ADMIN))
		return 0; /* never dropped: still root, or nothing kept */
	capng_update(CAPNG_ADD, CAPNG_EFFECTIVE, CAP_NET_ADMIN);
	return capng_apply(CAPNG_SELECT_CAPS) ? -EPERM : 0;
}

int xf_file_check(const char *path, const char *what, uid_t owner, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: %s is not a regular file%s", what, path,
			 S_ISLNK(st.st_mode) ? " (a symbolic link)" : "");
		return -EINVAL;
	}
	if (st.st_mode & S_IWOTH) {
		snprintf(err, errlen, "%s: %s is writable by others (mode %04o); chmod o-w %s",
			 what, path, (unsigned int)(st.st_mode & 07777), path);
		return -EPERM;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid() && st.st_uid != owner) {
		snprintf(err, errlen,
			 "%s: %s is owned by uid %u, not by root, the current user or run_as; "
			 "chown root %s",
			 what, path, (unsigned int)st.st_uid, path);
		return -EPERM;
	}
	return 0;
}
