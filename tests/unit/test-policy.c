/* SPDX-License-Identifier: MIT */
/* Unit tests: sandboxd.conf parsing (every refusal with its line), defaults, and every policy check
 * refusing an over-reaching request with its message and allowing a legal one. policy_load's
 * ownership checks need root to create root-owned files; without root only the refusal of a file
 * we own is tested and the rest is reported as skipped. */
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>

#include "policy.h"
#include "promises.h"
#include "spec.h"
#include "tap.h"
#include "unveil.h"
#include "util.h"

static int skipped;

static void tap_skip(const char *fmt, const char *why) {
        printf("ok %d - %s # SKIP %s\n", ++tap_n, fmt, why);
        skipped++;
}

/* Parses text; on failure returns NULL and leaves the message in msg. */
static Policy *parse(const char *text, char *msg, size_t size) {
        Policy *p = NULL;
        SbxError err = {};
        int r = policy_parse(text, strlen(text), "t.conf", &p, &err);
        if (msg)
                snprintf(msg, size, "%s", r < 0 ? err.msg : "");
        return r < 0 ? NULL : p;
}

static void parse_fails(const char *text, const char *expected) {
        char msg[SBX_ERROR_MAX];
        Policy *p = parse(text, msg, sizeof(msg));
        tap_ok(!p && streq(msg, expected), "refused: %s%s%s", expected, p || streq(msg, expected) ? "" : "  GOT: ",
               p ? " (parsed!)" : streq(msg, expected) ? "" : msg);
        policy_free(p);
}

static void test_parse_errors(void) {
        parse_fails("foo = 1\n", "t.conf:1: foo: outside a section (start with [daemon] or [driver NAME])");
        parse_fails("[daemon]\nfoo = 1\n", "t.conf:2: unknown key 'foo' in [daemon]");
        parse_fails("[driver x]\n\n# c\nsocket = /a\n", "t.conf:4: socket: belongs in [daemon], not in a [driver] section");
        parse_fails("[daemon]\nusers = nobody\n", "t.conf:2: users: belongs in a [driver NAME] section, not in [daemon]");
        parse_fails("[bogus]\n", "t.conf:1: unknown section '[bogus]' (expected [daemon] or [driver NAME])");
        parse_fails("[daemon\n", "t.conf:1: '[daemon': a section header ends with ']'");
        parse_fails("[driver a]\n[driver b]\n[driver a]\n", "t.conf:3: duplicate driver 'a' (first on line 1)");
        parse_fails("[daemon]\n[daemon]\n", "t.conf:2: duplicate section [daemon]");
        parse_fails("[driver]\n", "t.conf:1: expected [driver NAME], NAME of 1 to 64 letters, digits, '_', '.' or '-'");
        parse_fails("[driver a b]\n", "t.conf:1: expected [driver NAME], NAME of 1 to 64 letters, digits, '_', '.' or '-'");
        parse_fails("[driver a/b]\n", "t.conf:1: expected [driver NAME], NAME of 1 to 64 letters, digits, '_', '.' or '-'");
        parse_fails("[daemon]\nmax_tasks = 1\nmax_tasks = 2\n", "t.conf:3: max_tasks: duplicate key (first set on line 2)");
        parse_fails("[daemon]\nmax_tasks =\n", "t.conf:2: max_tasks: missing value");
        parse_fails("[daemon]\nmax_tasks = 1 2\n", "t.conf:2: max_tasks: expected a single value");
        parse_fails("[daemon]\nmax_tasks = 0\n", "t.conf:2: max_tasks: '0': expected a number from 1 to 1000000");
        parse_fails("[daemon]\nmax_tasks = lots\n", "t.conf:2: max_tasks: 'lots': expected a number from 1 to 1000000");
        parse_fails("[driver a]\nmax_tasks = 1000001\n",
                    "t.conf:2: max_tasks: '1000001': expected a number from 0 to 1000000");
        parse_fails("[daemon]\njust words\n", "t.conf:2: 'just words': expected KEY = VALUE or [SECTION]");
        parse_fails("[driver a]\nbaseline_filter = maybe\n", "t.conf:2: baseline_filter: 'maybe': expected yes or no");
        parse_fails("[daemon]\nbaseline_filter = no\n",
                    "t.conf:2: baseline_filter: belongs in a [driver NAME] section, not in [daemon]");
        parse_fails("[daemon]\n = x\n", "t.conf:2: missing key before '='");
        parse_fails("[driver a]\njobs =#x\n",
                    "t.conf:2: jobs: '#x': a value cannot start with '#' (a comment needs a space before it)");
        parse_fails("[daemon]\nMax_Tasks = 1\n", "t.conf:2: 'Max_Tasks': not a key (keys are lower case, digits and '_')");

        parse_fails("[driver a]\npromises = stdio foo\n", "t.conf:2: promises: unknown promise 'foo'");
        parse_fails("[driver a]\npromises = stdio exex\n", "t.conf:2: promises: unknown promise 'exex' (did you mean 'exec'?)");
        parse_fails("[daemon]\nnomad_data_dir = opt/nomad\n",
                    "t.conf:2: nomad_data_dir: 'opt/nomad': relative path (must start with '/')");
        parse_fails("[daemon]\nnomad_data_dir = /opt/../etc\n", "t.conf:2: nomad_data_dir: '/opt/../etc': '..' is not allowed");
        parse_fails("[daemon]\nnomad_data_dir = //\n", "t.conf:2: nomad_data_dir: '/': would cover the whole host");
        parse_fails("[daemon]\nnomad_data_dir = /opt/*\n",
                    "t.conf:2: nomad_data_dir: '/opt/*': '*', '?' and '[' are not allowed here");
        parse_fails("[daemon]\nlog_dirs = logs\n", "t.conf:2: log_dirs: 'logs': relative path (must start with '/')");
        parse_fails("[driver a]\nnetns_dirs = /\n", "t.conf:2: netns_dirs: '/': would cover the whole host");
        parse_fails("[daemon]\nstate_dir = /\n", "t.conf:2: state_dir: '/': must be a directory of its own");
        parse_fails("[daemon]\nsocket = run/s.sock\n", "t.conf:2: socket: 'run/s.sock': relative path (must start with '/')");
        char longsock[160], longmsg[300];
        snprintf(longsock, sizeof(longsock), "[daemon]\nsocket = /run/%0120d.sock\n", 0);
        snprintf(longmsg, sizeof(longmsg), "t.conf:2: socket: '/run/%059d...': longer than a unix socket path may be (107)", 0);
        parse_fails(longsock, longmsg);
        parse_fails("[driver a]\nunveil = r:etc\n", "t.conf:2: unveil: 'r:etc': path must be absolute");
        parse_fails("[driver a]\nunveil = rz:/x\n",
                    "t.conf:2: unveil: unknown unveil permission 'z' in 'rz' (allowed: r, w, x, c)");
        parse_fails("[driver a]\nunveil = r:/etc/../root\n", "t.conf:2: unveil: 'r:/etc/../root': '..' is not allowed");
        parse_fails("[driver a]\nusers = 10-5\n",
                    "t.conf:2: users: '10-5': bad uid range (expected FIRST-LAST, FIRST <= LAST < 4294967295)");
        parse_fails("[driver a]\nusers = 4294967295\n",
                    "t.conf:2: users: '4294967295': bad uid range (expected FIRST-LAST, FIRST <= LAST < 4294967295)");
        parse_fails("[driver a]\nusers = -x\n", "t.conf:2: users: '-x': expected a user name, a uid or a range FIRST-LAST");
        parse_fails("[driver a]\nallowed_gids = wheel% \n",
                    "t.conf:2: allowed_gids: 'wheel%': expected a group name, a gid or a range FIRST-LAST");
        parse_fails("[driver a]\ndynamic_users = 0-10\n", "t.conf:2: dynamic_users: '0-10': must not include uid 0");
        parse_fails("[driver a]\ndynamic_users = many\n",
                    "t.conf:2: dynamic_users: 'many': expected none or FIRST-LAST (e.g. 80000-89999)");
        parse_fails("[driver a]\ndefault_user = x:y\n", "t.conf:2: default_user: 'x:y': expected a user name, a uid or nomad-<N>");
        parse_fails("[driver a]\nusers = nobody\nusers = root\n", "t.conf:3: users: 'root' is uid 0: needs allow_root = yes");
        parse_fails("[driver a]\nusers = 0-100\n", "t.conf:2: users: '0-100' is uid 0: needs allow_root = yes");
        parse_fails("[driver a]\ndefault_user = 0\n", "t.conf:2: default_user: '0' is uid 0: needs allow_root = yes");
        parse_fails("[driver a]\ndefault_user = nomad-0\n", "t.conf:2: default_user: 'nomad-0' is uid 0: needs allow_root = yes");
        parse_fails("[driver a]\nusers = nomad-0\n", "t.conf:2: users: 'nomad-0' is uid 0: needs allow_root = yes");
        parse_fails("[driver a]\nallow_root = maybe\n", "t.conf:2: allow_root: 'maybe': expected yes or no");
        parse_fails("[driver a]\nrequire_promises = YES\n", "t.conf:2: require_promises: 'YES': expected yes or no");
        parse_fails("[driver a]\nnetworks = none bridge\n", "t.conf:2: networks: 'bridge': expected none, host or group");
        parse_fails("[driver a]\nlandlock = sometimes\n", "t.conf:2: landlock: 'sometimes': expected required or best-effort");
        parse_fails("[driver a]\nmin_oom_score_adj = -1001\n",
                    "t.conf:2: min_oom_score_adj: '-1001': expected an integer from -1000 to 1000");
        parse_fails("[driver a]\nmax_importance = urgent\n",
                    "t.conf:2: max_importance: 'urgent': expected lowest, low, normal, high or highest");
        parse_fails("[driver a]\nrlimits = FOO=1\n", "t.conf:2: rlimits: 'FOO=1': unknown resource limit 'FOO'");
        parse_fails("[driver a]\nrlimits = NOFILE=1:2\n",
                    "t.conf:2: rlimits: 'NOFILE=1:2': expected NAME=MAX (e.g. NOFILE=65536 or RTPRIO=0)");
        parse_fails("[driver a]\nrlimits = NOFILE\n",
                    "t.conf:2: rlimits: 'NOFILE': expected NAME=MAX (e.g. NOFILE=65536 or RTPRIO=0)");
        parse_fails("[driver a]\nrlimits = NOFILE=-1\n",
                    "t.conf:2: rlimits: 'NOFILE=-1': limits must be numbers or 'unlimited'");
        parse_fails("[driver a]\nnamespaces = default\nnamespaces = "
                    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
                    "t.conf:3: namespaces: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...': longer than "
                    "256 characters");
        parse_fails("[daemon]\ncgroup_backend = lxc\n", "t.conf:2: cgroup_backend: 'lxc': expected auto, systemd or cgroupfs");
        parse_fails("[daemon]\ncgroup_parent = a/../b\n",
                    "t.conf:2: cgroup_parent: 'a/../b': expected a cgroup path relative to the cgroup root (letters, "
                    "digits, '_.@:-', '/' between components, no '.' or '..')");
        parse_fails("[daemon]\nnomad_cgroup_parent = nomad slice\n", "t.conf:2: nomad_cgroup_parent: expected a single value");
        parse_fails("[daemon]\ncgroup_parent = sandbox/tasks\ncgroup_backend = systemd\n",
                    "t.conf:2: cgroup_parent: 'sandbox/tasks': with cgroup_backend = systemd, a slice name (e.g. "
                    "sandbox.slice)");
        parse_fails("[daemon]\nadmin_policy = nope\n[driver sandbox]\n", "t.conf:2: admin_policy: no [driver nope] section");
        parse_fails("[daemon]\nadmin_policy = no/pe\n", "t.conf:2: admin_policy: 'no/pe': not a driver name");

        /* Sizes and bytes. */
        char *big = xmalloc(POLICY_MAX_LINE + 64);
        int n = snprintf(big, 64, "[daemon]\nnomad_data_dir = /");
        memset(big + n, 'a', POLICY_MAX_LINE);
        big[n + POLICY_MAX_LINE] = 0;
        parse_fails(big, "t.conf:2: line longer than 8192 characters");
        free(big);

        Policy *p = NULL;
        SbxError err = {};
        static const char nul[] = "[daemon]\nmax\0_tasks = 1\n";
        TAP_EQ_INT(policy_parse(nul, sizeof(nul) - 1, "t.conf", &p, &err), -EINVAL, "a NUL byte is refused");
        TAP_EQ_STR(err.msg, "t.conf:2: control character 0x00 at column 4", "... with its line and column");
        parse_fails("[daemon]\nmax_tasks = \033[31m1\n", "t.conf:2: control character 0x1b at column 13");
        parse_fails("[daemon]\nmax_tasks = 1\x7f\n", "t.conf:2: control character 0x7f at column 14");
        parse_fails("[driver a]\njobs = x\xc2\x9b" "31m\n", "t.conf:2: control character U+009B at column 9");
        parse_fails("[driver a]\njobs = x\x9b" "31m\n", "t.conf:2: invalid UTF-8 at column 9");
        parse_fails("[driver a]\njobs = \xc0\xafx\n", "t.conf:2: invalid UTF-8 at column 8");       /* overlong */
        parse_fails("[driver a]\njobs = \xed\xa0\x80\n", "t.conf:2: invalid UTF-8 at column 8");    /* surrogate */
        parse_fails("[driver a]\njobs = caf\xc3\n", "t.conf:2: invalid UTF-8 at column 11");          /* cut */
        char msg[SBX_ERROR_MAX];
        Policy *utf8 = parse("[driver a]\njobs = caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x90\xa7\n", msg, sizeof(msg));
        tap_ok(utf8 != NULL, "valid UTF-8 (2, 3 and 4 bytes) passes %s", utf8 ? "" : msg);
        policy_free(utf8);
        parse_fails("", "t.conf: no [daemon] or [driver NAME] section (an empty configuration would refuse every task)");
        parse_fails("# only\n\n   # comments\n", "t.conf: no [daemon] or [driver NAME] section (an empty configuration would "
                                                   "refuse every task)");
        parse_fails("[daemon]\nmax_connections_per_uid = 0\n",
                    "t.conf:2: max_connections_per_uid: '0': expected a number from 1 to 4096");
        parse_fails("[daemon]\nsocket_mode = 0777\n",
                    "t.conf:2: socket_mode: '0777': expected an octal mode with only r and w bits, at least 0600 (e.g. 0660)");
        parse_fails("[daemon]\nsocket_mode = 0066\n",
                    "t.conf:2: socket_mode: '0066': expected an octal mode with only r and w bits, at least 0600 (e.g. 0660)");
        parse_fails("[daemon]\nsocket_group = a/b\n", "t.conf:2: socket_group: 'a/b': not a group name or gid");
        parse_fails("[driver a]\nmax_processes = 5000000\n",
                    "t.conf:2: max_processes: '5000000': expected a number from 0 to 4194304");

        char *many = xstrdup("[driver a]\nnamespaces =");
        for (int i = 0; i <= POLICY_MAX_LIST; i++) {
                char *x = xasprintf("%s n%d", many, i);
                free(many);
                many = x;
        }
        parse_fails(many, "t.conf:2: namespaces: too many entries (at most 512)");
        free(many);
        many = xstrdup("[driver a]\n");
        for (int l = 0; l < 3; l++) {
                char *x = xasprintf("%sunveil =", many);
                free(many);
                many = x;
                for (int i = 0; i < 200; i++) {
                        x = xasprintf("%s r:/srv/%d", many, i);
                        free(many);
                        many = x;
                }
                x = xasprintf("%s\n", many);
                free(many);
                many = x;
        }
        parse_fails(many, "t.conf:4: unveil: too many entries (at most 512)");
        free(many);

        many = xstrdup("");
        for (int i = 0; i <= POLICY_MAX_DRIVERS; i++) {
                char *x = xasprintf("%s[driver d%d]\n", many, i);
                free(many);
                many = x;
        }
        parse_fails(many, "t.conf:65: too many [driver] sections (at most 64)");
        free(many);

        size_t hl = POLICY_MAX_FILE_SIZE + 1;
        char *huge = xmalloc(hl);
        memset(huge, '\n', hl);
        p = NULL;
        TAP_EQ_INT(policy_parse(huge, hl, "t.conf", &p, &err), -E2BIG, "a file over 1 MiB is refused");
        TAP_EQ_STR(err.msg, "t.conf: larger than 1048576 bytes", "... saying so");
        free(huge);

        /* A failed parse leaves the caller's policy alone: that is how a reload keeps the old one. */
        Policy *sentinel = (Policy *) &err;
        p = sentinel;
        (void) policy_parse("[nope]\n", 7, "t.conf", &p, &err);
        tap_ok(p == sentinel, "a failed parse does not touch *ret");
}

static void test_defaults(void) {
        char msg[SBX_ERROR_MAX];
        Policy *p = parse("[daemon]\n", msg, sizeof(msg));
        tap_ok(p != NULL, "an empty [daemon] section is a valid configuration %s", msg);
        if (!p)
                return;
        TAP_EQ_INT(policy_max_tasks(p), 4096, "max_tasks defaults to 4096");
        TAP_EQ_INT(policy_max_connections_per_uid(p), 64, "max_connections_per_uid defaults to 64");
        tap_ok(policy_socket_mode(p) == 0 && policy_socket_group(p) == NULL, "socket_mode, socket_group: the build's");
        tap_ok(policy_socket_path(p) == NULL && policy_state_dir(p) == NULL, "socket and state_dir: the daemon's own");
        TAP_EQ_INT(policy_cgroup_backend(p), CGROUP_BACKEND_AUTO, "cgroup_backend defaults to auto");
        tap_ok(policy_cgroup_parent(p) == NULL, "cgroup_parent: the backend's default");
        tap_ok(policy_admin_driver(p) == NULL && policy_driver(p, "") == NULL && policy_driver(p, NULL) == NULL,
               "no drivers: no admin policy, nothing can start");
        SbxError err = {};
        TAP_EQ_INT(policy_check_peer(p, 0, 0, &err), 0, "root may always connect");
        TAP_EQ_INT(policy_check_peer(p, 65534, 65534, &err), -EPERM, "nobody else by default");
        TAP_EQ_STR(err.msg, "peer uid 65534 gid 65534 is not allowed (allowed_uids = (none); allowed_gids = (none))",
                   "... and the message names the keys");
        TAP_EQ_INT(policy_check_log_path(p, "/opt/nomad/data/alloc/0d3e/alloc/logs/.web.stdout.fifo", NULL, &err), 0,
                   "log FIFOs under the default data dir /opt/nomad/data");
        TAP_EQ_INT(policy_check_cgroup_path(p, "nomad.slice/share.slice/0d3e.web.scope", &err), 0,
                   "Nomad cgroups under the default nomad.slice");
        policy_free(p);

        p = parse("[driver sandbox]\n", msg, sizeof(msg));
        const PolicyDriver *d = p ? policy_driver(p, "sandbox") : NULL;
        tap_ok(d != NULL, "an empty [driver] section is valid %s", msg);
        if (!d)
                return;
        TAP_EQ_STR(policy_admin_driver(p), "sandbox", "the admin policy defaults to [driver sandbox]");
        tap_ok(policy_driver(p, "") == d, "a connection without a driver name gets it");
        tap_ok(policy_driver(p, "other") == NULL, "an unknown driver has no policy");
        TAP_EQ_STR(policy_default_user(d), "nobody", "default_user = nobody");
        TAP_EQ_INT(policy_driver_max_tasks(d), 0, "no per-driver task limit");
        uint64_t tm = 0;
        TAP_EQ_INT(policy_check_processes(d, &tm, &err), 0, "a task that asks for no process limit ...");
        TAP_EQ_INT(tm, 4096, "... gets default_processes = 4096");
        tm = 32768;
        TAP_EQ_INT(policy_check_processes(d, &tm, &err), 0, "32768 processes are within max_processes");
        tm = 32769;
        TAP_EQ_INT(policy_check_processes(d, &tm, &err), -EPERM, "32769 are not");
        TAP_EQ_STR(err.msg, "policy 'sandbox': tasks_max 32769 exceeds the ceiling (max_processes = 32768)",
                   "... and the refusal names the key");
        tap_ok(!policy_allow_unenforced_limits(d), "unenforced limits refused by default");
        tap_ok(!policy_landlock_best_effort(d), "Landlock required by default");
        tap_ok(policy_unveil_defaults(d), "the default unveil set allowed by default");
        TAP_EQ_INT(policy_check_driver_peer(d, 1000, 1000, &err), 0, "no driver peer narrowing by default");

        _cleanup_free_ char *text = policy_format(p);
        tap_ok(strstr(text, "users = nobody\ndynamic_users = 80000-89999\ndefault_user = nobody\nallow_root = no\n"
                            "promises = all\nrequire_promises = no\ndefault_promises = none\nunveil =\nunveil_defaults = yes\nhost_view = no\n"
                            "networks = none host group\n"
                            "netns_dirs = /run/netns /var/run/netns\nnamespaces = *\njobs = *\n"
                            "allow_unenforced_limits = no\nlandlock = required\nbaseline_filter = yes\nexplain_denials = yes\n"
                            "min_oom_score_adj = 0\n"
                            "max_importance = normal\nrlimits = RTPRIO=0 NICE=0\nmax_tasks = 0\n") != NULL,
               "the effective defaults, as policy_format prints them");
        policy_free(p);
}

static void round_trip(const char *text, const char *what);

/* log_reader_timeout ([daemon]). */
static void test_log_reader_timeout(void) {
        char msg[SBX_ERROR_MAX];
        _cleanup_(policy_freep) Policy *p = parse("[driver a]\n", msg, sizeof(msg));
        TAP_EQ_INT(p ? policy_log_reader_timeout_ms(p) : 0, 30000, "log_reader_timeout defaults to 30 s");
        _cleanup_free_ char *text = p ? policy_format(p) : NULL;
        tap_ok(text && strstr(text, "log_reader_timeout = 30\n"), "policy_format prints log_reader_timeout");
        policy_free(TAKE_PTR(p));

        p = parse("[daemon]\nlog_reader_timeout = 120\n", msg, sizeof(msg));
        tap_ok(p != NULL, "log_reader_timeout = 120 %s", msg);
        if (!p)
                return;
        TAP_EQ_INT(policy_log_reader_timeout_ms(p), 120000, "log_reader_timeout in seconds");
        round_trip("[daemon]\nlog_reader_timeout = 120\n", "log_reader_timeout");

        parse_fails("[daemon]\nlog_reader_timeout = 0\n", "t.conf:2: log_reader_timeout: '0': expected seconds from 1 to 3600");
        parse_fails("[daemon]\nlog_reader_timeout = 30s\n",
                    "t.conf:2: log_reader_timeout: '30s': expected seconds from 1 to 3600");
        parse_fails("[driver a]\nlog_reader_timeout = 5\n",
                    "t.conf:2: log_reader_timeout: belongs in [daemon], not in a [driver] section");
}

/* default_promises ([driver]). */
static void test_default_promises(void) {
        char msg[SBX_ERROR_MAX];
        uint64_t dp = 0;
        _cleanup_(policy_freep) Policy *p = parse("[driver a]\n", msg, sizeof(msg));
        tap_ok(p && !policy_default_promises(policy_driver(p, "a"), &dp), "default_promises: none by default (exec2)");
        policy_free(TAKE_PTR(p));

        p = parse("[driver a]\ndefault_promises = stdio rpath\n[driver b]\ndefault_promises = none\n", msg, sizeof(msg));
        tap_ok(p != NULL, "default_promises = stdio rpath / none %s", msg);
        if (!p)
                return;
        tap_ok(policy_default_promises(policy_driver(p, "a"), &dp) &&
                       dp == (PROMISE_BIT(PROMISE_STDIO) | PROMISE_BIT(PROMISE_RPATH)),
               "default_promises = stdio rpath (the pledge driver's tool default)");
        tap_ok(!policy_default_promises(policy_driver(p, "b"), &dp), "default_promises = none");
        round_trip("[driver a]\ndefault_promises = stdio rpath\n", "default_promises");

        parse_fails("[driver a]\ndefault_promises = stdio bogus\n", "t.conf:2: default_promises: unknown promise 'bogus'");
        parse_fails("[driver a]\ndefault_promises = none stdio\n", "t.conf:2: default_promises: 'none' stands alone");
        parse_fails("[driver a]\npromises = stdio\ndefault_promises = stdio rpath\n",
                    "t.conf:3: default_promises: 'rpath' not allowed by promises");
}

static void test_syntax(void) {
        char msg[SBX_ERROR_MAX];
        SbxError err = {};
        Policy *p = parse("# top\r\n[daemon]   # the daemon\r\n  max_tasks=7\r\n\r\n[ driver   web ]\r\n"
                          "jobs = a#b   # '#' inside a value stays\r\n"
                          "namespaces = default\nnamespaces = web-*\t# repeated list keys add up\n",
                          msg, sizeof(msg));
        tap_ok(p != NULL, "CRLF, comments, spacing, repeated list keys %s", msg);
        if (!p)
                return;
        TAP_EQ_INT(policy_max_tasks(p), 7, "max_tasks=7 without spaces");
        const PolicyDriver *d = policy_driver(p, "web");
        tap_ok(d != NULL, "[ driver   web ] names 'web'");
        SandboxSpec s;
        sandbox_spec_init(&s);
        (void) spec_set_user(&s, "nomad-80001", &err);
        PolicyTaskMeta m = { .driver = "web", .nomad_namespace = "web-shop", .job_id = "a#b" };
        TAP_EQ_INT(policy_check_task(d, &s, &m, &err), 0, "job 'a#b' matches, namespace from the second line matches");
        m.nomad_namespace = "default";
        TAP_EQ_INT(policy_check_task(d, &s, &m, &err), 0, "... and from the first");
        sandbox_spec_done(&s);
        policy_free(p);
}

static const char test_config[] =
        "[daemon]\n"
        "allowed_uids = 4242 nobody\n"
        "allowed_gids = 4343\n"
        "nomad_data_dir = /opt/nomad/data /opt/nomad/alloc_mounts/\n"
        "state_dir = /run/sbx//\n"
        "socket = /run/sbx/s.sock\n"
        "cgroup_backend = systemd\n"
        "cgroup_parent = /sandbox.slice\n"
        "max_tasks = 100\n"
        "admin_policy = priv\n"
        "\n"
        "[driver sandbox]\n"
        "users = nobody 1000-1999\n"
        "dynamic_users = 80000-89999\n"
        "promises = stdio rpath inet dns\n"
        "require_promises = yes\n"
        "unveil = rwxc:/opt/nomad/data/alloc r:/etc\n"
        "unveil = rx:/opt rw:/opt/data/\n"
        "networks = none group\n"
        "namespaces = default web-*\n"
        "rlimits = NOFILE=65536\n"
        "max_tasks = 10\n"
        "\n"
        "[driver priv]\n"
        "allowed_uids = 4242\n"
        "allow_root = yes\n"
        "users = root\n"
        "dynamic_users = none\n"
        "default_user = root\n"
        "unveil = rwxc:/\n"
        "unveil_defaults = no\n"
        "networks = host\n"
        "networks = group\n"
        "jobs = infra-* ops\n"
        "landlock = best-effort\n"
        "allow_unenforced_limits = yes\n"
        "min_oom_score_adj = -1000\n"
        "max_importance = highest\n"
        "rlimits = RTPRIO=unlimited rlimit_nofile=1048576\n";

/* Every rule the sandbox adds is checked where it really leads (policy_check_rules): the rules
 * are built here as sandbox_plan() leaves them, resolved paths included. */
static const char rules_config[] = "[driver strict]\n"
                                   "unveil = rwxc:/opt/nomad/data/alloc rx:/opt/tools r:/etc/ld.so.cache\n"
                                   "unveil_defaults = no\n"
                                   "[driver loose]\n"
                                   "unveil = rwxc:/opt/nomad/data/alloc r:/etc\n";

static UnveilRule *rule(UnveilList *l, const char *path, unsigned perms, UnveilOrigin o, const char *resolved,
                        const char *what) {
        UnveilRule *r = unveil_list_append(l, path, perms, o);
        r->resolved = resolved ? xstrdup(resolved) : NULL;
        r->what = what;
        return r;
}

static void expect_rules(const PolicyDriver *d, UnveilList *l, const char *expected, const char *desc) {
        SbxError err = {};
        int r = policy_check_rules(d, l, &err);
        if (!expected)
                tap_ok(r == 0, "rules allowed: %s%s%s", desc, r ? "  GOT: " : "", r ? err.msg : "");
        else
                tap_ok(r == -EPERM && streq(err.msg, expected), "rules refused: %s%s%s", desc,
                       r == -EPERM && streq(err.msg, expected) ? "" : "  GOT: ",
                       r == 0 ? "(allowed)" : streq(err.msg, expected) ? "" : err.msg);
        unveil_list_done(l);
}

static void test_rules(void) {
        char msg[SBX_ERROR_MAX];
        _cleanup_(policy_freep) Policy *p = parse(rules_config, msg, sizeof(msg));
        tap_ok(p != NULL, "the rules configuration parses %s", msg);
        if (!p)
                return;
        const PolicyDriver *strict = policy_driver(p, "strict"), *loose = policy_driver(p, "loose");
        UnveilList l = {};
        const char *ld = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2";

        rule(&l, "/lib64/ld-linux-x86-64.so.2", UNVEIL_R | UNVEIL_X, UNVEIL_ORIGIN_LAUNCH, ld, "the program's loader");
        expect_rules(strict, &l,
                     "policy 'strict': the program's loader /lib64/ld-linux-x86-64.so.2 (a launch rule, rx) is outside "
                     "the unveil ceiling: it leads to /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2, which is not "
                     "beneath an allowed prefix (unveil = rwxc:/opt/nomad/data/alloc rx:/opt/tools r:/etc/ld.so.cache)",
                     "a loader outside the ceiling, named with where it leads");
        rule(&l, "/lib64/ld-linux-x86-64.so.2", UNVEIL_R | UNVEIL_X, UNVEIL_ORIGIN_LAUNCH, ld, "the program's loader");
        expect_rules(loose, &l, NULL, "the same loader where the policy allows the default set (/usr/lib rx)");
        rule(&l, "/", UNVEIL_R | UNVEIL_X, UNVEIL_ORIGIN_LAUNCH, "/", "the program's loader");
        expect_rules(loose, &l,
                     "policy 'loose': the program's loader / (a launch rule, rx) is outside the unveil ceiling: it is not "
                     "beneath an allowed prefix (unveil = rwxc:/opt/nomad/data/alloc r:/etc) nor in the default unveil set",
                     "a loader named / (a crafted PT_INTERP) is refused even with the default set");
        rule(&l, "/etc/rc.local", UNVEIL_R | UNVEIL_X, UNVEIL_ORIGIN_LAUNCH, "/etc/rc.local", "the program");
        expect_rules(loose, &l,
                     "policy 'loose': the program /etc/rc.local (a launch rule, rx) is outside the unveil ceiling: it "
                     "exceeds the allowed letters under /etc (r)",
                     "a program where the ceiling allows only r");
        rule(&l, "/opt/tools/bin/x", UNVEIL_R | UNVEIL_X, UNVEIL_ORIGIN_LAUNCH, "/opt/tools/bin/x", "the program");
        rule(&l, "/usr/local/lib", UNVEIL_R | UNVEIL_X, UNVEIL_ORIGIN_LAUNCH, NULL, "a library directory")->absent = true;
        rule(&l, "/etc/ld.so.cache", UNVEIL_R, UNVEIL_ORIGIN_LAUNCH, "/etc/ld.so.cache", "the loader's cache");
        expect_rules(strict, &l, NULL, "a program and the loader's cache within the ceiling; an absent library dir");

        rule(&l, "/opt/nomad/data/alloc/A/alloc/etc", UNVEIL_R, UNVEIL_ORIGIN_USER, "/etc", NULL);
        expect_rules(strict, &l,
                     "policy 'strict': unveil 'r:/opt/nomad/data/alloc/A/alloc/etc' leads to /etc, which is not beneath an "
                     "allowed prefix (unveil = rwxc:/opt/nomad/data/alloc rx:/opt/tools r:/etc/ld.so.cache)",
                     "a user rule through a symlink in the alloc dir");
        rule(&l, "/opt/nomad/data/alloc/A/alloc/d", UNVEIL_R, UNVEIL_ORIGIN_USER, "/opt/nomad/data/alloc/A/alloc/d", NULL);
        expect_rules(strict, &l, NULL, "a user rule that leads where it says");

        rule(&l, "/vol", UNVEIL_R, UNVEIL_ORIGIN_VOLUME, "/srv/data", NULL)->deferred = true;
        expect_rules(strict, &l,
                     "policy 'strict': volume /srv/data on /vol (r): the source is not beneath an allowed prefix (unveil = "
                     "rwxc:/opt/nomad/data/alloc rx:/opt/tools r:/etc/ld.so.cache)",
                     "a volume checked by its source");
        rule(&l, "/vol", UNVEIL_R, UNVEIL_ORIGIN_VOLUME, "/opt/tools", NULL)->deferred = true;
        rule(&l, "/vol/sub", UNVEIL_R | UNVEIL_W, UNVEIL_ORIGIN_USER, NULL, NULL)->deferred = true;
        expect_rules(strict, &l,
                     "policy 'strict': unveil 'rw:/vol/sub' names /opt/tools/sub (in the volume from /opt/tools), which "
                     "exceeds the allowed letters under /opt/tools (rx)",
                     "a rule in a volume is checked where it lies in the volume's source");
        rule(&l, "/vol", UNVEIL_R, UNVEIL_ORIGIN_VOLUME, "/opt/tools", NULL)->deferred = true;
        rule(&l, "/vol/sub", UNVEIL_R | UNVEIL_X, UNVEIL_ORIGIN_USER, NULL, NULL)->deferred = true;
        expect_rules(strict, &l, NULL, "... allowed when the source's place allows it");

        rule(&l, "/etc/hosts", UNVEIL_R, UNVEIL_ORIGIN_DEFAULT, "/etc/hosts", NULL);
        expect_rules(strict, &l,
                     "policy 'strict': the default unveil set is not allowed (unveil_defaults = no); the task must switch "
                     "it off",
                     "the default set where unveil_defaults = no");
        rule(&l, "/tmp", UNVEIL_R | UNVEIL_W | UNVEIL_C, UNVEIL_ORIGIN_PRIVATE, NULL, NULL)->deferred = true;
        rule(&l, "/dev/shm", UNVEIL_R | UNVEIL_W | UNVEIL_C, UNVEIL_ORIGIN_PRIVATE, NULL, NULL)->deferred = true;
        rule(&l, "/opt/nomad/data/alloc/A/web", UNVEIL_R | UNVEIL_W | UNVEIL_C, UNVEIL_ORIGIN_NOMAD,
             "/opt/nomad/data/alloc/A/web", NULL);
        expect_rules(strict, &l, NULL, "the task's own tmpfs objects and Nomad's directories");
}

static void spec_user(SandboxSpec *s, const char *user) {
        SbxError err = {};
        if (spec_set_user(s, user, &err) < 0)
                tap_ok(0, "spec_set_user(%s): %s", user, err.msg);
}

/* A spec the sandbox policy allows; each test makes it over-reach in one way. */
static void legal_spec(SandboxSpec *s) {
        sandbox_spec_init(s);
        spec_user(s, "nobody");
        s->has_promises = true;
        s->promises = PROMISE_BIT(PROMISE_STDIO) | PROMISE_BIT(PROMISE_RPATH);
        (void) unveil_list_add(&s->unveil, "/etc/hosts", UNVEIL_R, UNVEIL_ORIGIN_USER, NULL);
        (void) unveil_list_add(&s->unveil, "/opt/nomad/data/alloc/0d3e/alloc/data", UNVEIL_R | UNVEIL_W | UNVEIL_C,
                               UNVEIL_ORIGIN_USER, NULL);
        unveil_list_add_defaults(&s->unveil);
        /* The program: a launch rule, which policy_check_rules checks (test_rules), not this. */
        (void) unveil_list_add(&s->unveil, "/usr/bin/python3", UNVEIL_R | UNVEIL_X, UNVEIL_ORIGIN_LAUNCH, NULL);
}

/* The privileged test policy refuses the default unveil set (unveil_defaults = no). */
static void drop_defaults(SandboxSpec *s) {
        UnveilList l = {};
        for (size_t i = 0; i < s->unveil.n; i++)
                if (s->unveil.rules[i].origin != UNVEIL_ORIGIN_DEFAULT)
                        (void) unveil_list_add(&l, s->unveil.rules[i].path, s->unveil.rules[i].perms,
                                               s->unveil.rules[i].origin, NULL);
        unveil_list_done(&s->unveil);
        s->unveil = l;
}

static const PolicyTaskMeta meta_ok = { .driver = "sandbox", .nomad_namespace = "default", .job_id = "web" };

static void expect(const PolicyDriver *d, const SandboxSpec *s, const PolicyTaskMeta *m, const char *expected,
                   const char *desc) {
        SbxError err = {};
        int r = policy_check_task(d, s, m ? m : &meta_ok, &err);
        if (!expected)
                tap_ok(r == 0, "allowed: %s%s%s", desc, r ? "  GOT: " : "", r ? err.msg : "");
        else
                tap_ok(r == -EPERM && streq(err.msg, expected), "refused: %s: %s%s%s", desc, expected,
                       r == -EPERM && streq(err.msg, expected) ? "" : "  GOT: ", r == 0 ? "(allowed)"
                                                                   : streq(err.msg, expected) ? "" : err.msg);
}

static void test_checks(void) {
        char msg[SBX_ERROR_MAX];
        SbxError err = {};
        _cleanup_(policy_freep) Policy *p = parse(test_config, msg, sizeof(msg));
        tap_ok(p != NULL, "the test configuration parses %s", msg);
        if (!p)
                return;
        TAP_EQ_INT(policy_resolve(p, &err), 0, "and its names resolve");
        const PolicyDriver *d = policy_driver(p, "sandbox"), *priv = policy_driver(p, "priv");
        tap_ok(d && priv && policy_driver(p, "") == priv, "two drivers; admin_policy = priv");
        TAP_EQ_STR(policy_state_dir(p), "/run/sbx", "state_dir normalised");
        TAP_EQ_STR(policy_cgroup_parent(p), "sandbox.slice", "cgroup_parent relative to the cgroup root");
        TAP_EQ_INT(policy_driver_max_tasks(d), 10, "per-driver max_tasks");
        SandboxSpec s;

        /* The legal request. */
        legal_spec(&s);
        expect(d, &s, NULL, NULL, "nobody, stdio rpath, r:/etc/hosts, rwc: in the alloc dir, defaults, no network");
        sandbox_spec_done(&s);

        /* Namespaces and jobs. */
        legal_spec(&s);
        expect(d, &s, &(PolicyTaskMeta) { .nomad_namespace = "prod", .job_id = "web" },
               "policy 'sandbox': namespace 'prod' not allowed (namespaces = default web-*)", "namespace outside the list");
        expect(d, &s, &(PolicyTaskMeta) { .nomad_namespace = "web-shop", .job_id = "web" }, NULL, "namespace web-* glob");
        expect(d, &s, &(PolicyTaskMeta) {}, "policy 'sandbox': a task without a Nomad namespace is not allowed "
                                            "(namespaces = default web-*)", "no Nomad metadata");
        sandbox_spec_done(&s);
        legal_spec(&s);
        drop_defaults(&s);
        spec_user(&s, "root");
        (void) spec_set_net(&s, "/run/netns/x", &err);
        expect(priv, &s, &(PolicyTaskMeta) { .nomad_namespace = "prod", .job_id = "web" },
               "policy 'priv': job 'web' not allowed (jobs = infra-* ops)", "job outside the list");
        expect(priv, &s, &(PolicyTaskMeta) { .nomad_namespace = "prod", .job_id = "infra-dns/periodic-17" }, NULL,
               "job glob (a '*' also spans '/' of periodic children)");
        expect(priv, &s, &(PolicyTaskMeta) { .nomad_namespace = "prod" },
               "policy 'priv': a task without a Nomad job is not allowed (jobs = infra-* ops)", "no job id");
        sandbox_spec_done(&s);

        /* Users. */
        legal_spec(&s);
        spec_user(&s, "root");
        expect(d, &s, NULL, "policy 'sandbox': user 'root' not allowed (allow_root = no)", "root");
        spec_user(&s, "0");
        expect(d, &s, NULL, "policy 'sandbox': user '0' is uid 0, not allowed (allow_root = no)", "uid 0 by number");
        spec_user(&s, "1500");
        expect(d, &s, NULL, NULL, "uid in the range 1000-1999");
        s.gid = 0;
        expect(d, &s, NULL, "policy 'sandbox': user '1500' has group root (gid 0), not allowed (allow_root = no)",
               "primary group root");
        spec_user(&s, "1500");
        s.groups = xcalloc(2, sizeof(gid_t));
        s.groups[0] = 1500;
        s.n_groups = 2;
        expect(d, &s, NULL, "policy 'sandbox': user '1500' has group root (gid 0), not allowed (allow_root = no)",
               "supplementary group root");
        spec_user(&s, "2500");
        expect(d, &s, NULL, "policy 'sandbox': user '2500' (uid 2500) not allowed (users = nobody 1000-1999; "
                            "dynamic_users = 80000-89999)", "uid outside users");
        spec_user(&s, "nomad-80001");
        expect(d, &s, NULL, NULL, "dynamic workload user in range");
        spec_user(&s, "nomad-90000");
        expect(d, &s, NULL, "policy 'sandbox': user 'nomad-90000' (uid 90000) not allowed (users = nobody 1000-1999; "
                            "dynamic_users = 80000-89999)", "dynamic workload user out of range");
        struct passwd *pw = getpwnam("nobody");
        if (pw) {
                char num[16];
                snprintf(num, sizeof(num), "%u", (unsigned) pw->pw_uid);
                spec_user(&s, num);
                expect(d, &s, NULL, NULL, "'nobody' in users matches its uid given as a number");
        } else
                tap_skip("'nobody' matches by uid", "no user nobody on this host");
        spec_user(&s, "1500");
        s.gid = 1501;
        expect(d, &s, NULL, "policy 'sandbox': user '1500' (uid 1500) would run with gid 1501, not the uid's own group "
                            "1500", "a gid that is not the uid's");
        spec_user(&s, "root");
        drop_defaults(&s);
        (void) spec_set_net(&s, "/run/netns/x", &err);
        expect(priv, &s, &(PolicyTaskMeta) { .job_id = "ops" }, NULL, "root where allow_root = yes");
        spec_user(&s, "nomad-80001");
        expect(priv, &s, &(PolicyTaskMeta) { .job_id = "ops" },
               "policy 'priv': user 'nomad-80001' (uid 80001) not allowed (users = root; dynamic_users = none)",
               "dynamic users switched off");
        sandbox_spec_done(&s);

        /* Promises. */
        legal_spec(&s);
        s.promises |= PROMISE_BIT(PROMISE_EXEC);
        expect(d, &s, NULL, "policy 'sandbox': promise 'exec' not allowed (promises = stdio rpath inet dns)", "exec");
        s.promises |= PROMISE_BIT(PROMISE_PROC);
        expect(d, &s, NULL, "policy 'sandbox': promises 'proc exec' not allowed (promises = stdio rpath inet dns)",
               "proc and exec");
        s.promises = PROMISE_BIT(PROMISE_STDIO) | PROMISE_BIT(PROMISE_THREAD);
        expect(d, &s, NULL, NULL, "thread grants nothing and is always accepted");
        s.promises = 0;
        expect(d, &s, NULL, NULL, "the empty promise set");
        s.has_promises = false;
        expect(d, &s, NULL, "policy 'sandbox': a task without promises (only the baseline filter) is not allowed "
                            "(require_promises = yes)", "no promises at all");
        sandbox_spec_done(&s);

        /* The launch window of a dynamic program: its promises + rpath prot_exec. */
        uint64_t sr = PROMISE_BIT(PROMISE_STDIO) | PROMISE_BIT(PROMISE_RPATH);
        TAP_EQ_INT(policy_check_launch_promises(d, "/bin/x", sr, sr, &err), 0, "launch set = promises: nothing to add");
        TAP_EQ_INT(policy_check_launch_promises(d, "/bin/x", sr, sr | PROMISE_BIT(PROMISE_PROT_EXEC), &err), -EPERM,
                   "launch set with prot_exec, which the policy lacks: refused");
        TAP_EQ_STR(err.msg,
                   "policy 'sandbox': '/bin/x' is dynamically linked: until its filter is narrowed to its promises, its "
                   "loader and libraries run with 'stdio rpath prot_exec' (the promises plus rpath prot_exec for ld.so), "
                   "and 'prot_exec' is not allowed (promises = stdio rpath inet dns); allow it, or run a static program",
                   "the message names the program, the launch set and what is missing");
        TAP_EQ_INT(policy_check_launch_promises(priv, "/bin/x", sr, sr | PROMISE_BIT(PROMISE_PROT_EXEC), &err), 0,
                   "a policy with every promise takes the launch set");
        tap_ok(policy_baseline_filter(d), "baseline_filter defaults to yes");
        {
                char m[SBX_ERROR_MAX];
                _cleanup_(policy_freep) Policy *nb = parse("[driver a]\nbaseline_filter = no\n", m, sizeof(m));
                tap_ok(nb && !policy_baseline_filter(policy_driver(nb, "a")), "baseline_filter = no %s", m);
        }
        tap_ok(policy_explain_denials(d), "explain_denials defaults to yes");
        {
                char m[SBX_ERROR_MAX];
                _cleanup_(policy_freep) Policy *ne = parse("[driver a]\nexplain_denials = no\n", m, sizeof(m));
                tap_ok(ne && !policy_explain_denials(policy_driver(ne, "a")), "explain_denials = no %s", m);
        }

        /* Unveil. */
        static const struct {
                const char *path;
                unsigned perms;
                const char *expected;
        } uv[] = {
                { "/etc", UNVEIL_R | UNVEIL_W | UNVEIL_C,
                  "policy 'sandbox': unveil 'rwc:/etc' exceeds the allowed letters under /etc (r)" },
                { "/etc/hosts", UNVEIL_R | UNVEIL_W,
                  "policy 'sandbox': unveil 'rw:/etc/hosts' exceeds the allowed letters under /etc (r)" },
                { "/etc//ssl/./certs/", UNVEIL_R, NULL },
                { "/", UNVEIL_R, "policy 'sandbox': unveil 'r:/' is not beneath an allowed prefix (unveil = "
                                 "rwxc:/opt/nomad/data/alloc r:/etc rx:/opt rw:/opt/data)" },
                { "/etcetera", UNVEIL_R, "policy 'sandbox': unveil 'r:/etcetera' is not beneath an allowed prefix "
                                         "(unveil = rwxc:/opt/nomad/data/alloc r:/etc rx:/opt rw:/opt/data)" },
                { "/opt/nomad/data/allocx", UNVEIL_R | UNVEIL_W,
                  "policy 'sandbox': unveil 'rw:/opt/nomad/data/allocx' exceeds the allowed letters under /opt (rx)" },
                { "/opt/nomad/data/alloc/../../../../etc/shadow", UNVEIL_R,
                  "policy 'sandbox': unveil 'r:/opt/nomad/data/alloc/../../../../etc/shadow': '..' is not allowed" },
                { "/opt/data/x", UNVEIL_R | UNVEIL_W | UNVEIL_X, NULL }, /* rx from /opt, rw from /opt/data */
                { "/opt/data/x", UNVEIL_R | UNVEIL_W | UNVEIL_X | UNVEIL_C,
                  "policy 'sandbox': unveil 'rwxc:/opt/data/x' exceeds the allowed letters under /opt/data (rwx)" },
                { "/opt/nomad/data/alloc", UNVEIL_R | UNVEIL_W | UNVEIL_X | UNVEIL_C, NULL },
                { "/home/x", 0, "policy 'sandbox': unveil ':/home/x' is not beneath an allowed prefix (unveil = "
                                "rwxc:/opt/nomad/data/alloc r:/etc rx:/opt rw:/opt/data)" },
                { "relative", UNVEIL_R, "policy 'sandbox': unveil 'r:relative': not an absolute path of at most 4095 "
                                        "characters" },
        };
        for (size_t i = 0; i < ELEMENTSOF(uv); i++) {
                char desc[300], letters[5];
                legal_spec(&s);
                (void) unveil_list_add(&s.unveil, uv[i].path, uv[i].perms, UNVEIL_ORIGIN_USER, NULL);
                snprintf(desc, sizeof(desc), "unveil %s:%s", unveil_perms_format(uv[i].perms, letters), uv[i].path);
                expect(d, &s, NULL, uv[i].expected, desc);
                sandbox_spec_done(&s);
        }
        TAP_EQ_INT(policy_check_unveil(d, "/etc/passwd", UNVEIL_R, &err), 0, "policy_check_unveil allows r:/etc/passwd");
        TAP_EQ_INT(policy_check_unveil(d, "/root/.ssh", UNVEIL_R, &err), -EPERM, "... and refuses a resolved /root/.ssh");

        legal_spec(&s);
        spec_user(&s, "root");
        expect(priv, &s, &(PolicyTaskMeta) { .job_id = "ops" },
               "policy 'priv': the default unveil set is not allowed (unveil_defaults = no); the task must switch it off",
               "default set where unveil_defaults = no");
        unveil_list_done(&s.unveil);
        (void) unveil_list_add(&s.unveil, "/", _UNVEIL_ALL, UNVEIL_ORIGIN_USER, NULL);
        (void) unveil_list_add(&s.unveil, "/usr/bin/env", UNVEIL_R | UNVEIL_X, UNVEIL_ORIGIN_LAUNCH, NULL);
        s.net = NET_HOST;
        s.has_promises = false;
        s.landlock = false;
        s.has_importance = true;
        s.importance = IMPORTANCE_HIGHEST;
        s.has_oom_score_adj = true;
        s.oom_score_adj = -1000;
        (void) spec_add_rlimit(&s, "RTPRIO=99", &err);
        (void) spec_add_rlimit(&s, "NOFILE=1048576", &err);
        expect(priv, &s, &(PolicyTaskMeta) { .job_id = "ops" }, NULL,
               "the privileged policy allows root, rwxc:/, host network, no filter, no Landlock, highest, -1000, RTPRIO");
        sandbox_spec_done(&s);

        /* Network. */
        legal_spec(&s);
        (void) spec_set_net(&s, "host", &err);
        expect(d, &s, NULL, "policy 'sandbox': network 'host' not allowed (networks = none group)", "host network");
        (void) spec_set_net(&s, "/var/run/netns/0d3e", &err);
        expect(d, &s, NULL, NULL, "group network in /var/run/netns");
        (void) spec_set_net(&s, "/proc/1/ns/net", &err);
        expect(d, &s, NULL, "policy 'sandbox': network namespace '/proc/1/ns/net' is not beneath an allowed directory "
                            "(netns_dirs = /run/netns /var/run/netns)", "the host's namespace by another name");
        (void) spec_set_net(&s, "/run/netns/../../proc/1/ns/net", &err);
        expect(d, &s, NULL, "policy 'sandbox': network namespace '/run/netns/../../proc/1/ns/net' is not beneath an "
                            "allowed directory (netns_dirs = /run/netns /var/run/netns)", "'..' out of /run/netns");
        (void) spec_set_net(&s, "/run/netns", &err);
        expect(d, &s, NULL, "policy 'sandbox': network namespace '/run/netns' is not beneath an allowed directory "
                            "(netns_dirs = /run/netns /var/run/netns)", "the directory itself");
        sandbox_spec_done(&s);
        legal_spec(&s);
        spec_user(&s, "root");
        unveil_list_done(&s.unveil);
        expect(priv, &s, &(PolicyTaskMeta) { .job_id = "ops" }, "policy 'priv': network 'none' not allowed (networks = host group)",
               "networks = host replaces the default none group, networks = group adds to it");
        sandbox_spec_done(&s);

        /* Importance, oom_score_adj, rlimits, Landlock. */
        legal_spec(&s);
        s.has_importance = true;
        s.importance = IMPORTANCE_HIGH;
        expect(d, &s, NULL, "policy 'sandbox': importance 'high' not allowed (max_importance = normal)", "importance high");
        s.importance = IMPORTANCE_LOWEST;
        expect(d, &s, NULL, NULL, "importance lowest");
        s.has_oom_score_adj = true;
        s.oom_score_adj = -500;
        expect(d, &s, NULL, "policy 'sandbox': oom_score_adj -500 not allowed (min_oom_score_adj = 0)", "oom_score_adj -500");
        s.oom_score_adj = 500;
        expect(d, &s, NULL, NULL, "oom_score_adj 500");
        (void) spec_add_rlimit(&s, "NOFILE=1024:65536", &err);
        expect(d, &s, NULL, NULL, "NOFILE=1024:65536 at the ceiling");
        (void) spec_add_rlimit(&s, "NOFILE=1024:65537", &err);
        expect(d, &s, NULL, "policy 'sandbox': rlimit NOFILE hard limit 65537 above the allowed 65536 (rlimits = RTPRIO=0 "
                            "NICE=0 NOFILE=65536)", "NOFILE above the ceiling");
        (void) spec_add_rlimit(&s, "NOFILE=unlimited", &err);
        expect(d, &s, NULL, "policy 'sandbox': rlimit NOFILE hard limit unlimited above the allowed 65536 (rlimits = "
                            "RTPRIO=0 NICE=0 NOFILE=65536)", "NOFILE unlimited");
        (void) spec_add_rlimit(&s, "NOFILE=64", &err);
        (void) spec_add_rlimit(&s, "RTPRIO=1", &err);
        expect(d, &s, NULL, "policy 'sandbox': rlimit RTPRIO hard limit 1 above the allowed 0 (rlimits = RTPRIO=0 NICE=0 "
                            "NOFILE=65536)", "RTPRIO kept at 0 though rlimits was set");
        sandbox_spec_done(&s);
        legal_spec(&s);
        s.landlock = false;
        expect(d, &s, NULL, "policy 'sandbox': a task without Landlock is not allowed (landlock = required)",
               "no Landlock where it is required");
        sandbox_spec_done(&s);

        /* Unenforceable limits. */
        const char *const lim[] = { "memory_max", "cpu_weight" };
        TAP_EQ_INT(policy_check_limits(d, lim, 0, &err), 0, "no unenforced limit: nothing to refuse");
        TAP_EQ_INT(policy_check_limits(d, lim, 2, &err), -EPERM, "unenforced limits refused");
        TAP_EQ_STR(err.msg, "policy 'sandbox': memory_max cpu_weight cannot be enforced on this host "
                            "(allow_unenforced_limits = no)", "... naming them and the key");
        TAP_EQ_INT(policy_check_limits(priv, lim, 2, &err), 0, "allowed where allow_unenforced_limits = yes");

        /* Peers. */
        TAP_EQ_INT(policy_check_peer(p, 4242, 1, &err), 0, "peer uid in allowed_uids");
        TAP_EQ_INT(policy_check_peer(p, 1, 4343, &err), 0, "peer gid in allowed_gids");
        if (pw)
                TAP_EQ_INT(policy_check_peer(p, pw->pw_uid, 1, &err), 0, "peer 'nobody' by name (resolved)");
        else
                tap_skip("peer by name", "no user nobody on this host");
        TAP_EQ_INT(policy_check_peer(p, 1000, 1000, &err), -EPERM, "other peers refused");
        TAP_EQ_STR(err.msg, "peer uid 1000 gid 1000 is not allowed (allowed_uids = 4242 nobody; allowed_gids = 4343)",
                   "... with the lists");
        TAP_EQ_INT(policy_check_driver_peer(priv, 4242, 1, &err), 0, "driver peer in the driver's allowed_uids");
        TAP_EQ_INT(policy_check_driver_peer(priv, 0, 0, &err), 0, "root may use any driver");
        TAP_EQ_INT(policy_check_driver_peer(priv, 1, 4343, &err), -EPERM, "a daemon peer not allowed for this driver");
        TAP_EQ_STR(err.msg, "policy 'priv': peer uid 1 gid 4343 may not use this driver (allowed_uids = 4242; "
                            "allowed_gids = (none))", "... and why");
        TAP_EQ_INT(policy_check_driver_peer(d, 1, 4343, &err), 0, "a driver without peer keys takes every daemon peer");

        /* Paths Nomad sends. */
        TAP_EQ_INT(policy_check_path_beneath(p, "/opt/nomad/data/alloc/0d3e/web", &err), 0, "task dir beneath the data dir");
        TAP_EQ_INT(policy_check_path_beneath(p, "/opt/nomad/alloc_mounts/0d3e-web", &err), 0, "second data dir");
        TAP_EQ_INT(policy_check_path_beneath(p, "/opt/nomad/datax/y", &err), -EPERM, "a sibling with the same prefix");
        TAP_EQ_STR(err.msg, "'/opt/nomad/datax/y': not beneath the Nomad data directory (nomad_data_dir = "
                            "/opt/nomad/data /opt/nomad/alloc_mounts)", "... refused by component");
        TAP_EQ_INT(policy_check_path_beneath(p, "/opt/nomad/data/../../../etc/shadow", &err), -EINVAL, "'..'");
        TAP_EQ_STR(err.msg, "'/opt/nomad/data/../../../etc/shadow': '..' is not allowed", "... refused lexically");
        TAP_EQ_INT(policy_check_path_beneath(p, "data/alloc", &err), -EINVAL, "a relative path");
        TAP_EQ_STR(err.msg, "'data/alloc': must be an absolute path", "... refused");

        /* Nomad's directories: exactly the request's own allocation's and task's. */
        TAP_EQ_INT(policy_check_nomad_dir(p, POLICY_NOMAD_TASK_DIR, "/opt/nomad/data/alloc/0d3e/web", "0d3e", "web", &err), 0,
                   "nomad dir: the task's own task dir");
        TAP_EQ_INT(policy_check_nomad_dir(p, POLICY_NOMAD_SECRETS_DIR, "/opt/nomad/alloc_mounts/alloc/0d3e/web/secrets/",
                                          "0d3e", "web", &err),
                   0, "nomad dir: its secrets dir in the second data dir (a trailing slash)");
        TAP_EQ_INT(policy_check_nomad_dir(p, POLICY_NOMAD_ALLOC_DIR, "/opt/nomad/data/alloc/0d3e/alloc", "0d3e", "", &err), 0,
                   "nomad dir: the shared alloc dir needs no task name");
        TAP_EQ_INT(policy_check_nomad_dir(p, POLICY_NOMAD_TASK_DIR, "/opt/nomad/data/alloc/9f00/db", "0d3e", "web", &err),
                   -EPERM, "nomad dir: another allocation's task dir");
        TAP_EQ_STR(err.msg, "'/opt/nomad/data/alloc/9f00/db': not the task directory of allocation '0d3e' task web "
                            "(DATA_DIR/alloc/ALLOC_ID/TASK; nomad_data_dir = /opt/nomad/data /opt/nomad/alloc_mounts)",
                   "... refused, saying what it must be");
        TAP_EQ_INT(policy_check_nomad_dir(p, POLICY_NOMAD_ALLOC_DIR, "/opt/nomad/data", "0d3e", "web", &err), -EPERM,
                   "nomad dir: the data dir itself as the alloc dir");
        TAP_EQ_INT(policy_check_nomad_dir(p, POLICY_NOMAD_SECRETS_DIR, "/opt/nomad/data/alloc/0d3e/web", "0d3e", "web", &err),
                   -EPERM, "nomad dir: the task dir as the secrets dir");
        TAP_EQ_INT(policy_check_nomad_dir(p, POLICY_NOMAD_TASK_DIR, "/opt/nomad/data/alloc/0d3e/alloc", "0d3e", "alloc/..",
                                          &err),
                   -EPERM, "nomad dir: a task name with a slash");
        TAP_EQ_INT(policy_check_nomad_dir(p, POLICY_NOMAD_TASK_DIR, "/opt/nomad/data/alloc/x", "..", "x", &err), -EPERM,
                   "nomad dir: alloc id '..'");
        TAP_EQ_INT(policy_check_nomad_dir(p, POLICY_NOMAD_TASK_DIR, "/opt/nomad/data/alloc/0d3e/web", NULL, NULL, &err),
                   -EPERM, "nomad dir: a request without Nomad metadata");
        TAP_EQ_STR(err.msg, "'/opt/nomad/data/alloc/0d3e/web': Nomad's directories need the request's alloc_id and "
                            "task_name (one path component each)",
                   "... refused, saying why");
        TAP_EQ_INT(policy_check_nomad_dir(p, POLICY_NOMAD_TASK_DIR, "/opt/nomad/data/alloc/0d3e/web/../web", "0d3e", "web",
                                          &err),
                   -EINVAL, "nomad dir: '..' in the path");

        TAP_EQ_INT(policy_check_log_path(p, "/opt/nomad/data/alloc/0d3e/alloc/logs/.web.stdout.fifo", NULL, &err), 0,
                   "Nomad's stdout FIFO");
        TAP_EQ_INT(policy_check_log_path(p, "/dev/null", NULL, &err), 0, "/dev/null (logs disabled)");
        TAP_EQ_INT(policy_check_log_path(p, "/opt/nomad/data/alloc/0d3e/alloc/logs/.web.stdout.fifo", "0d3e", &err), 0,
                   "log path of the request's own allocation");
        TAP_EQ_INT(policy_check_log_path(p, "/opt/nomad/data/alloc/9f00/alloc/logs/.db.stdout.fifo", "0d3e", &err), -EPERM,
                   "log path of another allocation");
        TAP_EQ_STR(err.msg, "'/opt/nomad/data/alloc/9f00/alloc/logs/.db.stdout.fifo': not in allocation '0d3e''s log "
                            "directory (log_dirs = /opt/nomad/data/alloc/*/alloc/logs /opt/nomad/alloc_mounts/alloc/*/alloc/logs)",
                   "... refused, naming the allocation");
        TAP_EQ_INT(policy_check_log_path(p, "/opt/nomad/data/alloc/0d3e/alloc/logs/f", "0*", &err), -EINVAL,
                   "an alloc id with a glob character");
        TAP_EQ_INT(policy_check_log_path(p, "/dev/null", "0d3e", &err), 0, "/dev/null for any allocation");
        TAP_EQ_INT(policy_check_log_path(p, "/opt/nomad/data/client/state.db", NULL, &err), -EPERM,
                   "Nomad's state database is not a log");
        TAP_EQ_STR(err.msg, "'/opt/nomad/data/client/state.db': not in a Nomad log directory (log_dirs = "
                            "/opt/nomad/data/alloc/*/alloc/logs /opt/nomad/alloc_mounts/alloc/*/alloc/logs)",
                   "... with the patterns");
        TAP_EQ_INT(policy_check_log_path(p, "/opt/nomad/data/alloc/0d3e/x/alloc/logs/f", NULL, &err), -EPERM,
                   "'*' is one component");
        TAP_EQ_INT(policy_check_log_path(p, "/opt/nomad/data/alloc/0d3e/alloc/logs", NULL, &err), -EPERM,
                   "the log directory itself");
        TAP_EQ_INT(policy_check_log_path(p, "/opt/nomad/data/alloc/0d3e/alloc/logs/../../../../client/state.db", NULL, &err),
                   -EINVAL, "'..' out of the log directory");

        TAP_EQ_INT(policy_check_cgroup_path(p, "nomad.slice/share.slice/0d3e.web task.scope", &err), 0,
                   "Nomad's task cgroup (task names may hold spaces)");
        TAP_EQ_INT(policy_check_cgroup_path(p, "/sys/fs/cgroup/nomad.slice/reserve.slice/0d3e.web.scope", &err), 0,
                   "... also as an absolute path");
        TAP_EQ_INT(policy_check_cgroup_path(p, "system.slice/sshd.service", &err), -EPERM, "someone else's cgroup");
        TAP_EQ_STR(err.msg, "'system.slice/sshd.service': not beneath Nomad's cgroup (nomad_cgroup_parent = nomad.slice)",
                   "... refused");
        TAP_EQ_INT(policy_check_cgroup_path(p, "nomad.slice", &err), -EPERM, "nomad.slice itself");
        TAP_EQ_INT(policy_check_cgroup_path(p, "nomad.slicex/a", &err), -EPERM, "a sibling with the same prefix");
        TAP_EQ_INT(policy_check_cgroup_path(p, "nomad.slice/../system.slice/sshd.service", &err), -EINVAL, "'..'");
        TAP_EQ_INT(policy_check_cgroup_path(p, "/etc/nomad.slice/x", &err), -EPERM, "outside /sys/fs/cgroup");
}

static void test_paths(void) {
        static const struct {
                const char *in, *out;
                int r;
        } t[] = {
                { "//a//b/", "/a/b", 0 },   { "/./a/.", "/a", 0 },       { "/", "/", 0 },       { "///", "/", 0 },
                { "/a/...", "/a/...", 0 }, { "/a/..b", "/a/..b", 0 },   { "a/b", NULL, -EINVAL }, { "", NULL, -EINVAL },
                { "/a/..", NULL, -EXDEV }, { "/../a", NULL, -EXDEV },
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                char *out = NULL;
                int r = policy_path_normalise(t[i].in, &out);
                tap_ok(r == t[i].r && (r < 0 || streq(out, t[i].out)), "normalise '%s' -> %s (%d)", t[i].in,
                       t[i].out ? t[i].out : "error", t[i].r);
                free(out);
        }
        tap_ok(policy_path_beneath("/opt/nomad", "/opt/nomad"), "a path is beneath itself");
        tap_ok(policy_path_beneath("/opt/nomad/x", "/opt/nomad"), "a child is beneath");
        tap_ok(!policy_path_beneath("/opt/nomadx", "/opt/nomad"), "/opt/nomadx is not beneath /opt/nomad");
        tap_ok(!policy_path_beneath("/opt", "/opt/nomad"), "a parent is not beneath");
        tap_ok(policy_path_beneath("/anything", "/"), "everything is beneath /");
}

static void test_resolve(void) {
        char msg[SBX_ERROR_MAX];
        SbxError err = {};
        Policy *p = parse("[driver a]\n\nusers = nobody no_such_user_xyz\n", msg, sizeof(msg));
        tap_ok(p != NULL, "unknown names parse (parsing looks nothing up) %s", msg);
        if (p) {
                TAP_EQ_INT(policy_resolve(p, &err), -ENOENT, "... but do not resolve");
                TAP_EQ_STR(err.msg, "t.conf:3: users: no such user 'no_such_user_xyz'", "... naming line and key");
                p = policy_free(p);
        }
        p = parse("[daemon]\nallowed_gids = no_such_group_xyz\n", msg, sizeof(msg));
        if (p) {
                TAP_EQ_INT(policy_resolve(p, &err), -ENOENT, "an unknown group");
                TAP_EQ_STR(err.msg, "t.conf:2: allowed_gids: no such group 'no_such_group_xyz'", "... named");
                p = policy_free(p);
        }
        tap_ok(policy_free(NULL) == NULL, "policy_free(NULL)");

        /* An account whose primary gid differs from its uid: "nomad-<uid>" must not give it
         * group <uid>. */
        struct passwd *pw;
        char name[64] = "";
        uid_t uid = 0;
        gid_t gid = 0;
        setpwent();
        while ((pw = getpwent()))
                if (pw->pw_uid != 0 && pw->pw_gid != pw->pw_uid && strlen(pw->pw_name) < 32) {
                        snprintf(name, sizeof(name), "%s", pw->pw_name);
                        uid = pw->pw_uid;
                        gid = pw->pw_gid;
                        break;
                }
        endpwent();
        if (!name[0]) {
                tap_skip("nomad-<uid> of a passwd account is refused", "no account with gid != uid");
                return;
        }
        _cleanup_free_ char *text = xasprintf("[driver a]\nusers = %s\n", name);
        p = parse(text, msg, sizeof(msg));
        if (!p || policy_resolve(p, &err) < 0) {
                tap_ok(0, "users = %s: %s%s", name, msg, err.msg);
                policy_free(p);
                return;
        }
        SandboxSpec s;
        sandbox_spec_init(&s);
        _cleanup_free_ char *spelled = xasprintf("nomad-%u", (unsigned) uid);
        spec_user(&s, name);
        TAP_EQ_INT(policy_check_task(policy_driver(p, "a"), &s, &(PolicyTaskMeta) {}, &err), 0,
                   "users = <account with gid != uid> allows it by name");
        spec_user(&s, spelled);
        _cleanup_free_ char *expected = xasprintf("policy 'a': user '%s' (uid %u) would run with gid %u, not the uid's own "
                                                  "group %u", spelled, (unsigned) uid, (unsigned) uid, (unsigned) gid);
        TAP_EQ_INT(policy_check_task(policy_driver(p, "a"), &s, &(PolicyTaskMeta) {}, &err), -EPERM,
                   "the same uid spelled nomad-<uid> (gid = uid) is refused");
        TAP_EQ_STR(err.msg, expected, "... naming the gid");
        sandbox_spec_done(&s);
        policy_free(p);
}

/* policy_format() then policy_parse() gives the same policy: same text the second time. */
static void round_trip(const char *text, const char *what) {
        char msg[SBX_ERROR_MAX];
        Policy *p = parse(text, msg, sizeof(msg));
        if (!p) {
                tap_ok(0, "round trip of %s: %s", what, msg);
                return;
        }
        char *a = policy_format(p);
        Policy *q = parse(a, msg, sizeof(msg));
        char *b = q ? policy_format(q) : NULL;
        tap_ok(b && streq(a, b), "policy_format round trip of %s %s", what, q ? "" : msg);
        free(a);
        free(b);
        policy_free(p);
        policy_free(q);
}

static char *read_file(const char *path) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return NULL;
        char *buf = xmalloc(POLICY_MAX_FILE_SIZE + 1);
        size_t n = fread(buf, 1, POLICY_MAX_FILE_SIZE, f);
        buf[n] = 0;
        return buf;
}

/* A file of the source tree. meson runs tests in the build root and compiles with __FILE__
 * relative to it ("../tests/unit/test-policy.c"); SANDBOX_SOURCE_ROOT overrides. */
static char *source_path(const char *rel) {
        const char *root = getenv("SANDBOX_SOURCE_ROOT");
        if (root)
                return xasprintf("%s/%s", root, rel);
        const char *tail = strstr(__FILE__, "tests/unit/test-policy.c");
        return xasprintf("%.*s%s", tail ? (int) (tail - __FILE__) : 0, __FILE__, rel);
}

/* The example we ship must be valid. */
static void test_example(void) {
        _cleanup_free_ char *path = source_path("systemd/sandboxd.conf.example");
        _cleanup_free_ char *text = read_file(path);
        tap_ok(text != NULL, "found the shipped example at %s", path);
        if (!text)
                return;
        char msg[SBX_ERROR_MAX];
        _cleanup_(policy_freep) Policy *p = parse(text, msg, sizeof(msg));
        tap_ok(p != NULL, "systemd/sandboxd.conf.example parses %s", msg);
        if (!p)
                return;
        const PolicyDriver *d = policy_driver(p, "sandbox"), *priv = policy_driver(p, "sandbox-privileged");
        tap_ok(d && priv, "it defines sandbox and sandbox-privileged");
        if (!d || !priv)
                return;
        SandboxSpec s;
        legal_spec(&s);
        spec_user(&s, "nomad-80001");
        expect(d, &s, NULL, NULL, "the example's sandbox policy runs an ordinary dynamic-user task");
        spec_user(&s, "root");
        expect(d, &s, NULL, "policy 'sandbox': user 'root' not allowed (allow_root = no)", "... but not as root");
        sandbox_spec_done(&s);
        UnveilList l = {};
        rule(&l, "/usr/bin/python3", UNVEIL_R | UNVEIL_X, UNVEIL_ORIGIN_LAUNCH, "/usr/bin/python3.11", "the program");
        rule(&l, "/lib64/ld-linux-x86-64.so.2", UNVEIL_R | UNVEIL_X, UNVEIL_ORIGIN_LAUNCH,
             "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "the program's loader");
        rule(&l, "/lib", UNVEIL_R | UNVEIL_X, UNVEIL_ORIGIN_LAUNCH, "/usr/lib", "a library directory");
        rule(&l, "/usr/libexec/nomad-driver-sandbox/libsandbox-preload.so", UNVEIL_R | UNVEIL_X, UNVEIL_ORIGIN_LAUNCH,
             "/usr/libexec/nomad-driver-sandbox/libsandbox-preload.so", "the preload helper");
        rule(&l, "/opt/nomad/data/alloc/A/web/local/app", UNVEIL_R | UNVEIL_X, UNVEIL_ORIGIN_LAUNCH,
             "/opt/nomad/data/alloc/A/web/local/app", "the program");
        expect_rules(d, &l, NULL, "the example runs python3 and an artifact from the alloc dir");
        rule(&l, "/home/u/bin/tool", UNVEIL_R | UNVEIL_X, UNVEIL_ORIGIN_LAUNCH, "/home/u/bin/tool", "the program");
        SbxError err = {};
        tap_ok(policy_check_rules(d, &l, &err) == -EPERM && strstr(err.msg, "the program /home/u/bin/tool"),
               "... but not a program from a home directory: %s", err.msg);
        unveil_list_done(&l);
        const PolicyDriver *ex = policy_driver(p, "exec2"), *pl = policy_driver(p, "pledge");
        uint64_t dp = 0;
        tap_ok(ex && !policy_default_promises(ex, &dp), "it defines exec2: no promises for a task that names none");
        tap_ok(pl && policy_default_promises(pl, &dp) && dp == (PROMISE_BIT(PROMISE_STDIO) | PROMISE_BIT(PROMISE_RPATH)),
               "it defines pledge: default_promises = stdio rpath");
        round_trip(text, "the example");
}

/* The default policy (installed as /etc/sandboxd/sandboxd.conf) parses, runs the README's job
 * and refuses what it says it refuses. (That it also resolves and passes --check-config on a
 * fresh install is the VM suite's package test.) */
static void test_default(void) {
        _cleanup_free_ char *path = source_path("systemd/sandboxd.conf");
        _cleanup_free_ char *text = read_file(path);
        tap_ok(text != NULL, "found the default policy at %s", path);
        if (!text)
                return;
        char msg[SBX_ERROR_MAX];
        _cleanup_(policy_freep) Policy *p = parse(text, msg, sizeof(msg));
        tap_ok(p != NULL, "systemd/sandboxd.conf parses %s", msg);
        if (!p)
                return;
        const PolicyDriver *d = policy_driver(p, "sandbox");
        tap_ok(d && policy_n_drivers(p) == 1, "it defines the driver sandbox and no other");
        if (!d)
                return;
        SbxError err = {};
        SandboxSpec s;

        /* The README's job: python3 -m http.server in a bridge network, 'stdio rpath inet',
         * r:/etc/mime.types, in Nomad's alloc dir, as a dynamic workload user. */
        legal_spec(&s);
        spec_user(&s, "nomad-80001");
        s.promises = PROMISE_BIT(PROMISE_STDIO) | PROMISE_BIT(PROMISE_RPATH) | PROMISE_BIT(PROMISE_INET);
        (void) unveil_list_add(&s.unveil, "/etc/mime.types", UNVEIL_R, UNVEIL_ORIGIN_USER, NULL);
        (void) spec_set_net(&s, "/var/run/netns/0d3e", &err);
        expect(d, &s, NULL, NULL, "the default policy runs the README's job");
        (void) spec_set_net(&s, "none", &err);
        expect(d, &s, NULL, NULL, "... with network none");
        (void) spec_set_net(&s, "host", &err);
        expect(d, &s, NULL, "policy 'sandbox': network 'host' not allowed (networks = none group)",
               "... but not in the host's network");
        (void) spec_set_net(&s, "none", &err);
        spec_user(&s, "root");
        expect(d, &s, NULL, "policy 'sandbox': user 'root' not allowed (allow_root = no)", "... nor as root");
        spec_user(&s, "nobody");
        s.has_promises = false;
        expect(d, &s, NULL, "policy 'sandbox': a task without promises (only the baseline filter) is not allowed "
                            "(require_promises = yes)", "... nor without promises");
        s.has_promises = true;
        (void) unveil_list_add(&s.unveil, "/home", UNVEIL_R, UNVEIL_ORIGIN_USER, NULL);
        expect(d, &s, NULL,
               "policy 'sandbox': unveil 'r:/home' is not beneath an allowed prefix (unveil = rwxc:/opt/nomad/data/alloc "
               "rx:/usr rx:/bin rx:/sbin rx:/lib rx:/lib64 r:/etc)",
               "... nor unveil /home");
        sandbox_spec_done(&s);
        round_trip(text, "the default policy");
}

static int write_file(const char *path, const char *text, mode_t mode) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t) strlen(text) || fchmod(fd, mode) < 0)
                return -errno;
        return 0;
}

static void test_load(void) {
        char dir[] = "/tmp/test-policy.XXXXXX";
        SbxError err = {};
        Policy *p = NULL;

        if (!mkdtemp(dir)) {
                tap_ok(0, "mkdtemp: %s", strerror(errno));
                return;
        }
        _cleanup_free_ char *conf = xasprintf("%s/sandboxd.conf", dir);
        char *expected;

        TAP_EQ_INT(policy_load(conf, &p, &err), -ENOENT, "a missing file");
        expected = xasprintf("'%s': No such file or directory", conf);
        TAP_EQ_STR(err.msg, expected, "... named");
        free(expected);

        tap_ok(write_file(conf, "[driver sandbox]\nusers = nobody\n", 0644) == 0, "write a configuration");
        if (geteuid() != 0) {
                TAP_EQ_INT(policy_load(conf, &p, &err), -EPERM, "a file not owned by root is refused");
                expected = xasprintf("'%s': owned by uid %u, not root", conf, (unsigned) geteuid());
                TAP_EQ_STR(err.msg, expected, "... saying who owns it");
                free(expected);
                const char *why = "needs root to create root-owned files";
                tap_skip("a root-owned 0644 file in root-owned directories loads", why);
                tap_skip("group-writable file refused", why);
                tap_skip("directory writable by others refused", why);
                tap_skip("parse error carries the path and line", why);
        } else {
                TAP_EQ_INT(policy_load(conf, &p, &err), 0, "a root-owned 0644 file in root-owned directories loads");
                tap_ok(p && policy_driver(p, "sandbox"), "... with its driver");
                p = policy_free(p);

                (void) chmod(conf, 0664);
                TAP_EQ_INT(policy_load(conf, &p, &err), -EPERM, "group-writable file refused");
                expected = xasprintf("'%s': writable by group or others (mode 0664)", conf);
                TAP_EQ_STR(err.msg, expected, "... with its mode");
                free(expected);
                (void) chmod(conf, 0644);

                (void) !chown(conf, 65534, 65534);
                TAP_EQ_INT(policy_load(conf, &p, &err), -EPERM, "a file owned by another user refused");
                expected = xasprintf("'%s': owned by uid 65534, not root", conf);
                TAP_EQ_STR(err.msg, expected, "... saying who owns it");
                free(expected);
                (void) !chown(conf, 0, 0);

                (void) chmod(dir, 0777);
                TAP_EQ_INT(policy_load(conf, &p, &err), -EPERM, "directory writable by others refused");
                expected = xasprintf("'%s': directory '%s' is writable by group or others (mode 0777)", conf, dir);
                TAP_EQ_STR(err.msg, expected, "... naming the directory");
                free(expected);
                (void) chmod(dir, 01777);
                TAP_EQ_INT(policy_load(conf, &p, &err), 0, "a sticky directory (like /tmp) is accepted");
                p = policy_free(p);
                (void) chmod(dir, 0700);

                _cleanup_free_ char *link = xasprintf("%s/link.conf", dir);
                TAP_EQ_INT(symlink(conf, link), 0, "a symlink to the file");
                TAP_EQ_INT(policy_load(link, &p, &err), 0, "... loads (both directories are checked)");
                p = policy_free(p);
                (void) unlink(link);

                (void) write_file(conf, "[driver sandbox]\nusers = nobody\nallow_root = perhaps\n", 0644);
                TAP_EQ_INT(policy_load(conf, &p, &err), -EINVAL, "parse error");
                expected = xasprintf("%s:3: allow_root: 'perhaps': expected yes or no", conf);
                TAP_EQ_STR(err.msg, expected, "parse error carries the path and line");
                free(expected);

                (void) write_file(conf, "[driver sandbox]\nusers = no_such_user_xyz\n", 0644);
                TAP_EQ_INT(policy_load(conf, &p, &err), -ENOENT, "an unknown user at load time");
                expected = xasprintf("%s:2: users: no such user 'no_such_user_xyz'", conf);
                TAP_EQ_STR(err.msg, expected, "... with path and line");
                free(expected);

                (void) unlink(conf);
                TAP_EQ_INT(mkfifo(conf, 0644), 0, "a FIFO in place of the file");
                TAP_EQ_INT(policy_load(conf, &p, &err), -EINVAL, "... is refused without hanging");
        }
        (void) unlink(conf);
        (void) rmdir(dir);
}

int main(void) {
        test_paths();
        test_parse_errors();
        test_defaults();
        test_log_reader_timeout();
        test_default_promises();
        test_syntax();
        test_checks();
        test_rules();
        test_resolve();
        round_trip(test_config, "the test configuration");
        round_trip("[daemon]\n", "an empty [daemon]");
        round_trip("[daemon]\nmax_connections_per_uid = 3\nsocket_mode = 0600\nsocket_group = 42\n[driver a]\n"
                   "default_processes = 0\nmax_processes = 100\n",
                   "the connection and process keys");
        test_example();
        test_default();
        test_load();
        if (skipped)
                printf("# %d skipped\n", skipped);
        return tap_done();
}
