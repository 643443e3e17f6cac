// SPDX-License-Identifier: GPL-2.0
/*
 * rpctls-exports: set the RPC-with-TLS policy of NFS exports ("xprtsec=")
 * on a kernel whose mountd cannot send it.
 *
 * nfs-utils 2.6.3 and later pass exports(5)'s xprtsec= to the kernel in
 * the export downcall.  Debian 12's nfs-utils 2.6.2 does not know the
 * option (exportfs refuses the line), so this project's nfsd keeps a
 * second source: a table of policies by exported path in
 * /proc/fs/nfsd/xprtsec, consulted for every export mountd sends without
 * xprtsec.  This program reads exports(5)-style lines from a file of its
 * own (default /etc/rpctls/exports), resolves each path the way mountd
 * names it to the kernel (nfs.conf's [exports] rootdir prepended), and
 * makes the kernel table match: new and changed entries are written before
 * stale ones are removed, so no path is ever without its policy.
 *
 * Kernel interface (one line per write(2)):
 *	"PATH MODES\n"	set; MODES is a ':'-separated subset of none,tls,mtls
 *	"PATH\n"	remove
 * PATH is escaped as in the SunRPC cache channels (octal \ooo); reading
 * the file gives "PATH MODES" lines, escaped the same way.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#define XS_NONE		0x1u
#define XS_TLS		0x2u
#define XS_MTLS		0x4u
#define XS_ALL		(XS_NONE | XS_TLS | XS_MTLS)

#define DEFAULT_FILE	"/etc/rpctls/exports"
#define DEFAULT_NFSD	"/proc/fs/nfsd"
#define NFS_CONF	"/etc/nfs.conf"
#define NFS_CONF_D	"/etc/nfs.conf.d/*.conf"
#define ETC_EXPORTS	"/etc/exports"
#define ETC_EXPORTS_D	"/etc/exports.d/*.exports"

static const struct {
	unsigned int	mode;
	const char	*name;
} mode_names[] = {
	{ XS_NONE,	"none" },
	{ XS_TLS,	"tls" },
	{ XS_MTLS,	"mtls" },
};

struct policy {
	char		*path;		/* as the kernel names it */
	unsigned int	modes;
	char		*where;		/* FILE:LINE of the first definition */
	bool		seen;		/* apply: also in the kernel's table */
	dev_t		dev;		/* exports: the file system it is on */
};

struct table {
	struct policy	*p;
	size_t		n;
};

static const char *prog = "rpctls-exports";

static void err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		err("out of memory");
		exit(1);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d) {
		err("out of memory");
		exit(1);
	}
	return d;
}

static void table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->p[i].path);
		free(t->p[i].where);
	}
	free(t->p);
	t->p = NULL;
	t->n = 0;
}

static struct policy *table_find(const struct table *t, const char *path)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->p[i].path, path))
			return &t->p[i];
	return NULL;
}

static void table_add(struct table *t, const char *path, unsigned int modes,
		      const char *where)
{
	struct policy *p;

	t->p = xrealloc(t->p, (t->n + 1) * sizeof(*t->p));
	p = &t->p[t->n++];
	p->path = xstrdup(path);
	p->modes = modes;
	p->where = xstrdup(where ? where : "");
	p->seen = false;
	p->dev = 0;
}

/* "tls:mtls" -> bits; false (with the bad word in @why) on error */
static bool parse_modes(const char *s, unsigned int *out, char *why,
			size_t whylen)
{
	unsigned int modes = 0;
	const char *w = s;
	size_t len, i;

	for (;;) {
		len = strcspn(w, ":");
		for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
			if (strlen(mode_names[i].name) == len &&
			    !strncmp(w, mode_names[i].name, len))
				break;
		if (i == sizeof(mode_names) / sizeof(mode_names[0])) {
			snprintf(why, whylen,
				 "unknown xprtsec mode '%.*s' in '%s' (want none, tls or mtls, separated by ':')",
				 (int)len, w, s);
			return false;
		}
		if (modes & mode_names[i].mode) {
			snprintf(why, whylen, "xprtsec mode '%s' given twice in '%s'",
				 mode_names[i].name, s);
			return false;
		}
		modes |= mode_names[i].mode;
		if (!w[len])
			break;
		w += len + 1;
	}
	*out = modes;
	return true;
}

/* "tls:mtls"; up to four calls may share one printf (buffers in turn) */
static const char *modes_str(unsigned int modes)
{
	static char bufs[4][32];
	static unsigned int turn;
	char *buf = bufs[turn++ & 3];
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (!(modes & mode_names[i].mode))
			continue;
		if (buf[0])
			strcat(buf, ":");
		strcat(buf, mode_names[i].name);
	}
	return buf;
}

/* ---- nfs.conf: [exports] rootdir ------------------------------------- */

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
			 e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Sets *rootdir from one nfs.conf-style file; a missing file is fine. */
static int read_rootdir(const char *file, char **rootdir)
{
	char line[4096], *s, *eq, *key, *val;
	bool in_exports = false;
	FILE *f;

	f = fopen(file, "r");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		s = trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');

			if (end)
				*end = '\0';
			in_exports = !strcasecmp(trim(s + 1), "exports");
			continue;
		}
		eq = strchr(s, '=');
		if (!in_exports || !eq)
			continue;
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		if (strcasecmp(key, "rootdir"))
			continue;
		free(*rootdir);
		*rootdir = *val ? xstrdup(val) : NULL;
	}
	fclose(f);
	return 0;
}

static int nfs_conf_rootdir(char **rootdir)
{
	glob_t g;
	size_t i;
	int ret;

	ret = read_rootdir(NFS_CONF, rootdir);
	if (ret) {
		err("cannot read %s: %s", NFS_CONF, strerror(-ret));
		return ret;
	}
	if (glob(NFS_CONF_D, 0, NULL, &g))
		return 0;
	for (i = 0; i < g.gl_pathc && !ret; i++) {
		ret = read_rootdir(g.gl_pathv[i], rootdir);
		if (ret)
			err("cannot read %s: %s", g.gl_pathv[i], strerror(-ret));
	}
	globfree(&g);
	return ret;
}

/* ---- the exports(5)-style file --------------------------------------- */

struct lexer {
	const char	*file;
	unsigned int	line;
	char		*p;
};

/*
 * The next word of the line: a path may be in double quotes, and \ooo
 * (octal) escapes any byte, as in exports(5).  Parentheses stay attached
 * to their client ("host(opts)").  Returns NULL at the end of the line.
 */
static char *next_word(struct lexer *lx, char *why, size_t whylen)
{
	char *out, *o, *p = lx->p;
	bool quoted = false;

	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p || *p == '\n' || *p == '#') {
		lx->p = p;
		return NULL;
	}
	out = o = p;
	while (*p && (quoted || (*p != ' ' && *p != '\t' && *p != '\n'))) {
		if (*p == '"') {
			quoted = !quoted;
			p++;
			continue;
		}
		if (*p == '\\' && p[1] >= '0' && p[1] <= '3' &&
		    p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 +
				      (p[3] - '0'));
			p += 4;
			continue;
		}
		*o++ = *p++;
	}
	if (quoted) {
		snprintf(why, whylen, "unterminated double quote");
		return NULL;
	}
	if (*p)
		p++;
	*o = '\0';
	lx->p = p;
	return out;
}

/*
 * The xprtsec= value in an option list "rw,xprtsec=tls,sync".
 * Returns 1 and sets *modes when present, 0 when absent, -1 on error.
 */
static int options_xprtsec(char *opts, unsigned int *modes, char *why,
			   size_t whylen)
{
	char *o, *save = NULL;
	int found = 0;

	for (o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (strncmp(o, "xprtsec", 7))
			continue;
		if (o[7] != '=' || !o[8]) {
			snprintf(why, whylen, "option '%s' wants a value: xprtsec=none:tls:mtls", o);
			return -1;
		}
		if (found) {
			snprintf(why, whylen, "xprtsec= given twice for one client");
			return -1;
		}
		if (!parse_modes(o + 8, modes, why, whylen))
			return -1;
		found = 1;
	}
	return found;
}

/*
 * One export line: PATH then "-defaults", "client(opts)", "(opts)" or
 * "client" words.  Every client's effective policy (its own xprtsec=, the
 * line's default, or all modes) must be the same: the kernel's table has
 * one policy per path.  Returns 1 with *modes set when the line names
 * xprtsec at all, 0 when not, -1 on error.
 */
static int parse_line(struct lexer *lx, char **pathp, unsigned int *modesp,
		      char *why, size_t whylen)
{
	unsigned int def = XS_ALL, eff, first = 0;
	bool have_first = false, explicit = false, any_client = false;
	char *path, *w, *paren, *end;
	unsigned int m = 0;
	int r;

	why[0] = '\0';
	path = next_word(lx, why, whylen);
	if (!path)
		return why[0] ? -1 : 0;
	if (path[0] != '/') {
		snprintf(why, whylen, "'%s' is not an absolute path", path);
		return -1;
	}
	*pathp = path;
	while ((w = next_word(lx, why, whylen)) != NULL) {
		if (w[0] == '-') {
			r = options_xprtsec(w + 1, &m, why, whylen);
			if (r < 0)
				return -1;
			if (r) {
				def = m;
				explicit = true;
			}
			continue;
		}
		any_client = true;
		eff = def;
		paren = strchr(w, '(');
		if (paren) {
			end = strrchr(paren, ')');
			if (!end || end[1]) {
				snprintf(why, whylen, "'%s': options must end with ')'", w);
				return -1;
			}
			*end = '\0';
			r = options_xprtsec(paren + 1, &m, why, whylen);
			if (r < 0)
				return -1;
			if (r) {
				eff = m;
				explicit = true;
			}
		}
		if (have_first && eff != first) {
			snprintf(why, whylen,
				 "clients of %s get different xprtsec= policies (%s and %s): this kernel keeps one policy per exported path",
				 path, modes_str(first), modes_str(eff));
			return -1;
		}
		first = eff;
		have_first = true;
	}
	if (why[0])
		return -1;
	if (!any_client)
		first = def;
	if (!explicit)
		return 0;
	*modesp = first;
	return 1;
}

/*
 * One line of @f into *@buf, with the lines a "\" at the end continues
 * joined to it; @line counts them.  The length, or -1 at the end.
 */
static ssize_t read_joined_line(FILE *f, char **buf, size_t *cap,
				unsigned int *line)
{
	ssize_t n = getline(buf, cap, f);

	if (n < 0)
		return n;
	(*line)++;
	while (n >= 2 && (*buf)[n - 1] == '\n' && (*buf)[n - 2] == '\\') {
		char *more = NULL;
		size_t mcap = 0;
		ssize_t m = getline(&more, &mcap, f);

		(*buf)[n - 2] = ' ';
		(*buf)[n - 1] = '\0';
		n--;
		(*line)++;
		if (m < 0) {
			free(more);
			break;
		}
		*buf = xrealloc(*buf, n + m + 1);
		memcpy(*buf + n, more, m + 1);
		n += m;
		*cap = n + 1;
		free(more);
	}
	return n;
}

/* @path under @rootdir as mountd names it to the kernel: 0, or -1 */
static int resolve_export(const char *rootdir, const char *path,
			  char *full, size_t fulllen, char *real,
			  struct stat *st)
{
	size_t len = rootdir ? strlen(rootdir) : 0;

	while (len && rootdir[len - 1] == '/')
		len--;
	snprintf(full, fulllen, "%.*s%s", (int)len, rootdir ? rootdir : "",
		 path);
	if (!realpath(full, real) || stat(real, st))
		return -1;
	return 0;
}

/* A policy of @where for @real into @policies: 0, or -1 on a conflict */
static int add_policy(struct table *policies, const char *real,
		      unsigned int modes, const char *where)
{
	struct policy *old = table_find(policies, real);

	if (old && old->modes != modes) {
		err("%s: %s: xprtsec=%s, but %s says xprtsec=%s", where, real,
		    modes_str(modes), old->where, modes_str(old->modes));
		return -1;
	}
	if (!old)
		table_add(policies, real, modes, where);
	return 0;
}

/*
 * Reads the exports(5)-style FILE, paths resolved under @rootdir.  Lines
 * with xprtsec= go into @policies (when not NULL); every export, with its
 * policy or all modes, into @exports (when not NULL), with the file
 * system it is on.  @lenient (mountd's own files): lines this parser does
 * not take and paths that do not resolve are mountd's business, and
 * skipped quietly.  0 or -1.
 */
static int read_exports_file(const char *file, const char *rootdir,
			     struct table *policies, struct table *exports,
			     bool lenient)
{
	char *buf = NULL, *path, where[PATH_MAX + 32], why[512];
	char full[PATH_MAX * 2], real[PATH_MAX];
	struct lexer lx = { .file = file };
	unsigned int modes = 0;
	size_t cap = 0;
	struct stat st;
	int ret = 0, r;
	FILE *f;

	f = fopen(file, "r");
	if (!f) {
		if (lenient && errno == ENOENT)
			return 0;
		err("cannot open %s: %s", file, strerror(errno));
		return -1;
	}
	while (read_joined_line(f, &buf, &cap, &lx.line) >= 0) {
		lx.p = buf;
		path = NULL;
		snprintf(where, sizeof(where), "%s:%u", file, lx.line);
		r = parse_line(&lx, &path, &modes, why, sizeof(why));
		if (r < 0) {
			if (!lenient) {
				err("%s: %s", where, why);
				ret = -1;
			}
			continue;
		}
		if (!path || (!r && !exports))
			continue;
		if (!r)
			modes = XS_ALL;
		if (resolve_export(rootdir, path, full, sizeof(full), real,
				   &st)) {
			if (lenient || !r)
				continue;
			err("%s: export path %s: %s", where, full, strerror(errno));
			ret = -1;
			continue;
		}
		if (exports && !table_find(exports, real)) {
			table_add(exports, real, modes, where);
			exports->p[exports->n - 1].dev = st.st_dev;
		}
		if (r && policies && add_policy(policies, real, modes, where))
			ret = -1;
	}
	free(buf);
	if (ferror(f)) {
		err("cannot read %s: %s", file, strerror(errno));
		ret = -1;
	}
	fclose(f);
	return ret;
}

/*
 * nfsd applies an export's policy to everything below it up to the next
 * mount point.  An export on the same file system below a looser one is
 * therefore reachable through the looser one with what that one allows:
 * warn about each such pair.  Returns the number of warnings.
 */
static int warn_nested(const struct table *exports)
{
	size_t i, j, len;
	int n = 0;

	for (i = 0; i < exports->n; i++) {
		const struct policy *in = &exports->p[i];

		for (j = 0; j < exports->n; j++) {
			const struct policy *out = &exports->p[j];

			len = strlen(out->path);
			if (i == j || out->dev != in->dev ||
			    !(out->modes & ~in->modes))
				continue;
			/* @out must be a directory above @in */
			if (strcmp(out->path, "/") &&
			    (strncmp(in->path, out->path, len) ||
			     in->path[len] != '/'))
				continue;
			fprintf(stderr,
				"%s: warning: %s (xprtsec=%s, %s) is on the same file system as the export %s (xprtsec=%s, %s) above it: nfsd applies an export's policy down to the next mount point, so %s is reachable with xprtsec=%s through %s; give it a mount point of its own (its own file system, or \"mount --bind %s %s\")\n",
				prog, in->path, modes_str(in->modes), in->where,
				out->path, modes_str(out->modes), out->where,
				in->path, modes_str(out->modes & ~in->modes),
				out->path, in->path, in->path);
			n++;
		}
	}
	return n;
}

/* ---- the kernel's table ---------------------------------------------- */

/* seq_escape()'s \ooo back to bytes, in place */
static void unescape(char *s)
{
	char *o = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

/* "# table loaded" or "# table not loaded ...": 1, 0; -1 not said */
static int kernel_loaded = -1;

/* The kernel's table as read from @f (named @file in errors) into @t */
static int read_kernel_stream(FILE *f, const char *file, struct table *t)
{
	char *buf = NULL, *sp, why[256];
	unsigned int modes;
	size_t cap = 0;
	ssize_t n;
	int ret = 0;

	while ((n = getline(&buf, &cap, f)) > 0) {
		if (buf[n - 1] == '\n')
			buf[--n] = '\0';
		if (buf[0] == '#') {
			if (!strncmp(buf, "# table loaded", 14))
				kernel_loaded = 1;
			else if (!strncmp(buf, "# table not loaded", 18))
				kernel_loaded = 0;
			continue;
		}
		sp = strrchr(buf, ' ');
		if (!sp) {
			err("%s: unexpected line '%s'", file, buf);
			ret = -1;
			break;
		}
		*sp = '\0';
		if (!parse_modes(sp + 1, &modes, why, sizeof(why))) {
			err("%s: %s", file, why);
			ret = -1;
			break;
		}
		unescape(buf);
		table_add(t, buf, modes, file);
	}
	free(buf);
	return ret;
}

static int read_kernel(const char *file, struct table *t)
{
	FILE *f;
	int ret;

	f = fopen(file, "r");
	if (!f) {
		err("cannot open %s: %s (is the nfsd filesystem mounted, and does this kernel have the export TLS policy table?)",
		    file, strerror(errno));
		return -1;
	}
	ret = read_kernel_stream(f, file, t);
	fclose(f);
	return ret;
}

/* The path in the cache channels' escaping (qword_get reads \ooo) */
static void escape(const char *s, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *s && o + 5 < outlen; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c == '\\' || c >= 0x7f)
			o += snprintf(out + o, outlen - o, "\\%03o", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

/*
 * One command to the kernel: "PATH MODES" or, with modes 0, "PATH"; with
 * @path NULL, "commit": the table is complete (loaded).
 */
static int kernel_write(const char *file, const char *path, unsigned int modes)
{
	char esc[PATH_MAX * 4 + 1], line[PATH_MAX * 4 + 64];
	int fd, len, ret = 0;

	if (!path) {
		len = snprintf(line, sizeof(line), "commit\n");
		fd = open(file, O_WRONLY);
		if (fd < 0 || write(fd, line, len) != len) {
			err("cannot mark the kernel's table as loaded (\"commit\" to %s): %s",
			    file, strerror(errno));
			ret = -1;
		}
		if (fd >= 0)
			close(fd);
		return ret;
	}
	escape(path, esc, sizeof(esc));
	len = modes ? snprintf(line, sizeof(line), "%s %s\n", esc, modes_str(modes)) :
		      snprintf(line, sizeof(line), "%s\n", esc);
	fd = open(file, O_WRONLY);
	if (fd < 0) {
		err("cannot open %s: %s", file, strerror(errno));
		return -1;
	}
	if (write(fd, line, len) != len) {
		ret = -1;
		if (modes)
			err("the kernel refused xprtsec=%s for %s: %s",
			    modes_str(modes), path, strerror(errno));
		else
			err("the kernel refused to remove the policy of %s: %s",
			    path, strerror(errno));
	}
	close(fd);
	return ret;
}

/* ---- commands --------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: %s [-f FILE] [-e EXPORTS]... [-r ROOTDIR] [-d NFSD_DIR] [-n]\n"
		"                      make the kernel's table match FILE, then mark it loaded\n"
		"       %s -c [-f FILE] [-e EXPORTS]... [-r ROOTDIR]   check FILE only\n"
		"       %s -s [-d NFSD_DIR]            show the kernel's table\n"
		"       %s -x [-d NFSD_DIR]            remove every policy (table loaded, empty)\n"
		"FILE: exports(5) lines with xprtsec=none:tls:mtls (default %s; a missing\n"
		"      default file is an empty policy)\n"
		"EXPORTS: mountd's exports, checked for stricter exports below looser ones on\n"
		"      the same file system (default %s and %s)\n"
		"ROOTDIR: prefix of every path (default: nfs.conf [exports] rootdir)\n"
		"NFSD_DIR: the nfsd filesystem (default %s)\n",
		prog, prog, prog, prog, DEFAULT_FILE, ETC_EXPORTS, ETC_EXPORTS_D,
		DEFAULT_NFSD);
}

/* The policy file, then mountd's exports for the nesting check.  0 or -1 */
static int read_all(const char *file, bool file_given, char **efiles,
		    size_t nefiles, const char *rootdir, struct table *want,
		    struct table *exports)
{
	glob_t g = { 0 };
	size_t i;

	if (!file_given && access(file, F_OK) && errno == ENOENT)
		fprintf(stderr, "%s: no %s: no export has a TLS policy\n", prog,
			file);
	else if (read_exports_file(file, rootdir, want, exports, false))
		return -1;
	if (!nefiles) {
		read_exports_file(ETC_EXPORTS, rootdir, NULL, exports, true);
		if (!glob(ETC_EXPORTS_D, 0, NULL, &g))
			for (i = 0; i < g.gl_pathc; i++)
				read_exports_file(g.gl_pathv[i], rootdir, NULL,
						  exports, true);
		globfree(&g);
	}
	for (i = 0; i < nefiles; i++)
		read_exports_file(efiles[i], rootdir, NULL, exports, true);
	warn_nested(exports);
	return 0;
}

/* The command line */
struct args {
	int		cmd;		/* 'a'pply, 'c'heck, 's'how, clear 'x' */
	const char	*file;
	bool		file_given;
	const char	*nfsd;
	char		*rootdir;
	bool		rootdir_set;
	bool		dry;
	char		**efiles;
	size_t		nefiles;
};

/* parse_args() after --help: main() stops with status 0 */
#define EXIT_HELP	(-1)

/* 0: go on; else main() stops with that status (EXIT_HELP: 0). */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{ "file",	required_argument,	NULL, 'f' },
		{ "rootdir",	required_argument,	NULL, 'r' },
		{ "nfsd",	required_argument,	NULL, 'd' },
		{ "dry-run",	no_argument,		NULL, 'n' },
		{ "check",	no_argument,		NULL, 'c' },
		{ "show",	no_argument,		NULL, 's' },
		{ "clear",	no_argument,		NULL, 'x' },
		{ "exports",	required_argument,	NULL, 'e' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "f:e:r:d:ncsxh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			a->file = optarg;
			a->file_given = true;
			break;
		case 'e':
			a->efiles = xrealloc(a->efiles,
					     (a->nefiles + 1) * sizeof(*a->efiles));
			a->efiles[a->nefiles++] = optarg;
			break;
		case 'r':
			free(a->rootdir);
			a->rootdir = *optarg ? xstrdup(optarg) : NULL;
			a->rootdir_set = true;
			break;
		case 'd':
			a->nfsd = optarg;
			break;
		case 'n':
			a->dry = true;
			break;
		case 'c':
		case 's':
		case 'x':
			if (a->cmd != 'a') {
				err("-c, -s and -x exclude each other");
				return 2;
			}
			a->cmd = c;
			break;
		case 'h':
			usage(stdout);
			return EXIT_HELP;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		err("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return 2;
	}
	return 0;
}

/* -s: the kernel's table as it is */
static void show_kernel(const struct table *have)
{
	size_t i;

	if (kernel_loaded >= 0)
		printf("# %s\n", kernel_loaded ? "table loaded" :
		       "table not loaded: exports without xprtsec from mountd follow nfsd.xprtsec_policy_required");
	for (i = 0; i < have->n; i++)
		printf("%s\txprtsec=%s\n", have->p[i].path,
		       modes_str(have->p[i].modes));
}

/*
 * Make the kernel's table (@have) match @want.  Set first, then remove: a
 * path never goes without its policy.  A kernel entry is kept when it
 * names a wanted path, also under another spelling (the kernel stores what
 * d_absolute_path() shows).  0 or 1.
 */
static int apply(const char *kfile, const struct table *want,
		 struct table *have, bool dry)
{
	int ret = 0;
	size_t i;

	for (i = 0; i < have->n; i++) {
		char real[PATH_MAX];

		if (table_find(want, have->p[i].path) ||
		    (realpath(have->p[i].path, real) && table_find(want, real)))
			have->p[i].seen = true;
	}
	for (i = 0; i < want->n; i++) {
		struct policy *k = table_find(have, want->p[i].path);

		if (k && k->modes == want->p[i].modes)
			continue;
		printf("%s\txprtsec=%s\n", want->p[i].path,
		       modes_str(want->p[i].modes));
		if (!dry && kernel_write(kfile, want->p[i].path,
					 want->p[i].modes))
			ret = 1;
	}
	for (i = 0; i < have->n; i++) {
		if (have->p[i].seen)
			continue;
		printf("%s\tremoved (was xprtsec=%s)\n", have->p[i].path,
		       modes_str(have->p[i].modes));
		if (!dry && kernel_write(kfile, have->p[i].path, 0))
			ret = 1;
	}
	/*
	 * The table is complete: the kernel may serve exports by it (until
	 * then, with nfsd.xprtsec_policy_required, it serves none).  Not
	 * after a refused change: better closed than half a policy.
	 */
	if (!dry && !ret && kernel_write(kfile, NULL, 0))
		ret = 1;
	return ret;
}

int main(int argc, char **argv)
{
	struct args a = { .cmd = 'a', .file = DEFAULT_FILE,
			  .nfsd = DEFAULT_NFSD };
	struct table want = { 0 }, have = { 0 }, exports = { 0 };
	char kfile[PATH_MAX];
	int ret;
	size_t i;

	ret = parse_args(argc, argv, &a);
	if (ret)
		goto out;
	snprintf(kfile, sizeof(kfile), "%s/xprtsec", a.nfsd);
	if (a.cmd == 'a' || a.cmd == 'c') {
		if (!a.rootdir_set && nfs_conf_rootdir(&a.rootdir)) {
			ret = 2;
			goto out;
		}
		if (read_all(a.file, a.file_given, a.efiles, a.nefiles,
			     a.rootdir, &want, &exports)) {
			ret = 2;
			goto out;
		}
	}
	if (a.cmd == 'c') {
		for (i = 0; i < want.n; i++)
			printf("%s\txprtsec=%s\n", want.p[i].path,
			       modes_str(want.p[i].modes));
		goto out;
	}
	if (read_kernel(kfile, &have)) {
		ret = 1;
		goto out;
	}
	if (a.cmd == 's')
		show_kernel(&have);
	else
		ret = apply(kfile, &want, &have, a.dry);
out:
	table_free(&want);
	table_free(&have);
	table_free(&exports);
	free(a.efiles);
	free(a.rootdir);
	return ret == EXIT_HELP ? 0 : ret;
}
