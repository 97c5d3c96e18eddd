/* SPDX-License-Identifier: MIT */
/* shim/main.c: nomad-driver-sandbox, started by Nomad (go-plugin) from its plugin_dir.
 *
 * It checks go-plugin's magic cookie, drops root, listens on a unix socket, prints the handshake
 * line `1|2|unix|PATH|grpc|` on stdout, then serves gRPC (h2c) on that socket with gRPC's C
 * core until Nomad calls plugin.GRPCController/Shutdown or kills it. It never forks tasks:
 * sandboxd does, so killing the shim loses nothing. The whole data flow, Nomad to the task:
 * docs/architecture.md. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <grpc/grpc_security.h>
#include <grpc/support/log.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "options.h"
#include "macro.h"
#include "shim.h"
#include "util.h"

#define COOKIE_KEY "NOMAD_PLUGIN_MAGIC_COOKIE"
#define COOKIE_VALUE "e4327c2e01eabfd75a8a67adb114fb34a757d57eee7728d857a8cec6e91a7255"
#define APP_PROTOCOL 2
#define CORE_PROTOCOL 1

pthread_mutex_t shim_lock = PTHREAD_MUTEX_INITIALIZER;
ShimState shim;
grpc_completion_queue *shim_cq;
static char socket_path[PATH_MAX];

static void usage(FILE *f) {
        fprintf(f,
                "Usage: nomad-driver-sandbox [--name NAME] [--user USER]\n"
                "\n"
                "The Nomad task driver plugin of nomad-driver-sandbox. Nomad starts it from its plugin_dir:\n"
                "\n"
                "  plugin \"nomad-driver-sandbox\" {\n"
                "    config { socket = \"" SANDBOXD_SOCKET "\" }\n"
                "  }\n"
                "\n"
                "  --name NAME   the driver name jobs use (driver = \"NAME\") and the sandboxd policy section\n"
                "                [driver NAME]; default: from the binary name nomad-driver-NAME, else \"sandbox\"\n"
                "  --user USER   the unprivileged user to run as when started as root (default: nobody)\n"
                "  --version     print the version\n");
}

static char *name_from_argv0(const char *argv0) {
        const char *b = strrchr(argv0, '/');
        b = b ? b + 1 : argv0;
        if (strncmp(b, "nomad-driver-", 13) == 0 && b[13])
                return xstrdup(b + 13);
        return xstrdup("sandbox");
}

static bool name_ok(const char *n) {
        if (!n[0] || strlen(n) > 64)
                return false;
        for (const char *p = n; *p; p++)
                if (!(*p >= 'a' && *p <= 'z') && !(*p >= '0' && *p <= '9') && *p != '-' && *p != '_')
                        return false;
        return true;
}

static bool protocol_offered(const char *list) {
        if (!list || !list[0])
                return true; /* old clients do not say */
        _cleanup_free_ char *dup = xstrdup(list);
        char *save = NULL;
        bool found = false;
        for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save))
                if (atoi(t) == APP_PROTOCOL)
                        found = true;
        return found;
}

static void cap_freep(cap_t *c) {
        if (*c)
                cap_free(*c);
}

static int drop_privileges(const char *user) {
        if (geteuid() != 0)
                return 0;
        errno = 0;
        struct passwd *pw = getpwnam(user);
        if (!pw) {
                fprintf(stderr, "nomad-driver-sandbox: --user: no user named '%s'\n", user);
                return -1;
        }
        if (pw->pw_uid == 0) {
                fprintf(stderr, "nomad-driver-sandbox: --user: '%s' is root; the shim must run unprivileged\n", user);
                return -1;
        }
        /* The user's own groups: one of them may be sandboxd's socket group (sandboxd.socket). */
        if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
            setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
                fprintf(stderr, "nomad-driver-sandbox: dropping to user '%s': %s\n", user, strerror(errno));
                return -1;
        }
        /* no way back, and no capability left in any set */
        if (setuid(0) == 0) {
                fprintf(stderr, "nomad-driver-sandbox: could regain root after dropping it\n");
                return -1;
        }
        _cleanup_(cap_freep) cap_t none = cap_init();
        if (!none || cap_set_proc(none) < 0) {
                fprintf(stderr, "nomad-driver-sandbox: clearing capabilities: %s\n", strerror(errno));
                return -1;
        }
        return 0;
}

static void cleanup_socket(void) {
        if (socket_path[0])
                unlink(socket_path);
}

static void *signal_thread(void *arg) {
        sigset_t *set = arg;
        for (;;) {
                int sig = 0;
                if (sigwait(set, &sig) != 0)
                        continue;
                if (sig == SIGTERM) {
                        cleanup_socket();
                        _exit(0);
                }
        }
        return NULL;
}

/* gRPC core's own messages as hclog JSON lines, so Nomad files them at the right level */
static void grpc_log(gpr_log_func_args *a) {
        char line[16];
        snprintf(line, sizeof line, "%d", a->line);
        hclog(a->severity == GPR_LOG_SEVERITY_ERROR ? HCLOG_ERROR : a->severity == GPR_LOG_SEVERITY_INFO ? HCLOG_INFO : HCLOG_DEBUG,
              a->message, "source", "grpc", "file", a->file, "line", line, NULL);
}

typedef struct Accept {
        ShimTag tag;
        grpc_server *server;
        grpc_call *call;
        grpc_call_details details;
        grpc_metadata_array md;
} Accept;

static void accept_arm(Accept *a);

static void on_accept(void *owner, bool ok) {
        Accept *a = owner;
        if (!ok) {
                grpc_call_details_destroy(&a->details);
                grpc_metadata_array_destroy(&a->md);
                return; /* the server is shutting down */
        }
        call_begin(a->call, &a->details, &a->md, shim_cq);
        accept_arm(a);
}

static void accept_arm(Accept *a) {
        a->call = NULL;
        grpc_call_details_init(&a->details);
        grpc_metadata_array_init(&a->md);
        a->tag = (ShimTag) { on_accept, a };
        grpc_call_error e = grpc_server_request_call(a->server, &a->call, &a->details, &a->md, shim_cq, shim_cq, &a->tag);
        if (e != GRPC_CALL_OK)
                hclog_error("grpc_server_request_call failed", "error", grpc_call_error_to_string(e));
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "name", required_argument, NULL, 'n' },
                { "user", required_argument, NULL, 'u' },
                { "version", no_argument, NULL, 'V' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *user = "nobody";
        int c;

        shim.driver_name = name_from_argv0(argv[0]);
        /* Go's flag package style (-name x) works too: getopt_long_only */
        while ((c = getopt_long_only(argc, argv, "", opts, NULL)) >= 0) {
                switch (c) {
                case 'n':
                        free(shim.driver_name);
                        shim.driver_name = xstrdup(optarg);
                        break;
                case 'u':
                        user = optarg;
                        break;
                case 'V':
                        printf("nomad-driver-sandbox %s\n", PACKAGE_VERSION);
                        return 0;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 1;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "nomad-driver-sandbox: unexpected argument '%s'\n", argv[optind]);
                return 1;
        }
        if (!name_ok(shim.driver_name)) {
                fprintf(stderr, "nomad-driver-sandbox: --name: '%s': expected 1 to 64 of a-z 0-9 - _\n", shim.driver_name);
                return 1;
        }
        const char *cookie = getenv(COOKIE_KEY);
        if (!cookie || strcmp(cookie, COOKIE_VALUE) != 0) {
                fprintf(stderr,
                        "This binary is a plugin. These are not meant to be executed directly.\n"
                        "Nomad starts it from its plugin_dir: put nomad-driver-sandbox there, add a\n"
                        "plugin \"nomad-driver-sandbox\" {} block to the agent's configuration and run jobs\n"
                        "with driver = \"%s\". To run a command in the same sandbox by hand, use sandboxctl run.\n",
                        shim.driver_name);
                return 1;
        }
        if (!protocol_offered(getenv("PLUGIN_PROTOCOL_VERSIONS"))) {
                fprintf(stderr, "nomad-driver-sandbox: the client offers plugin protocol versions %s; this plugin speaks %d\n",
                        getenv("PLUGIN_PROTOCOL_VERSIONS"), APP_PROTOCOL);
                return 1;
        }
        signal(SIGPIPE, SIG_IGN);
        signal(SIGINT, SIG_IGN); /* like go-plugin: a Ctrl-C to the agent's terminal is not for us */

        if (drop_privileges(user) < 0)
                return 1;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
                fprintf(stderr, "nomad-driver-sandbox: prctl(PR_SET_NO_NEW_PRIVS): %s\n", strerror(errno));
                return 1;
        }
        umask(0077);

        /* SIGTERM: remove the socket and exit (tasks live on in sandboxd) */
        static sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        pthread_t st;
        int r = pthread_create(&st, NULL, signal_thread, &set);
        if (r != 0) {
                fprintf(stderr, "nomad-driver-sandbox: cannot start the signal thread: %s\n", strerror(r));
                return 1;
        }
        pthread_detach(st);

        SbxError err = { 0 };
        if (plugin_config_decode(NULL, 0, &shim.config, &err) < 0) {
                fprintf(stderr, "nomad-driver-sandbox: %s\n", err.msg);
                return 1;
        }

        /* like a Go plugin: the socket goes to $TMPDIR, or /tmp when that is unset or, now that
         * we dropped root, not writable for us */
        const char *tmp = getenv("TMPDIR");
        if (!tmp || tmp[0] != '/' || access(tmp, W_OK | X_OK) < 0)
                tmp = "/tmp";
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(socket_path, sizeof socket_path, "%s/plugin%ld%09ld", tmp, (long) getpid(), ts.tv_nsec);
        if (strlen(socket_path) >= 100) {
                snprintf(socket_path, sizeof socket_path, "/tmp/plugin%ld%09ld", (long) getpid(), ts.tv_nsec);
        }
        unlink(socket_path);

        gpr_set_log_function(grpc_log);
        gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);
        grpc_init();
        shim_cq = grpc_completion_queue_create_for_next(NULL);
        grpc_arg args[] = {
                { GRPC_ARG_INTEGER, (char *) GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, { .integer = 64 << 20 } },
                { GRPC_ARG_INTEGER, (char *) GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, { .integer = 64 << 20 } },
        };
        grpc_channel_args cargs = { ELEMENTSOF(args), args };
        grpc_server *server = grpc_server_create(&cargs, NULL);
        grpc_server_register_completion_queue(server, shim_cq, NULL);
        char addr[PATH_MAX + 8];
        snprintf(addr, sizeof addr, "unix:%s", socket_path);
        grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
        int port = grpc_server_add_http2_port(server, addr, creds);
        grpc_server_credentials_release(creds);
        if (port == 0) {
                fprintf(stderr, "nomad-driver-sandbox: cannot listen on %s\n", socket_path);
                return 1;
        }
        grpc_server_start(server);
        atexit(cleanup_socket);

        pthread_mutex_lock(&shim_lock);
        reactor_start();
        Accept accepts[4];
        for (size_t i = 0; i < ELEMENTSOF(accepts); i++) {
                accepts[i].server = server;
                accept_arm(&accepts[i]);
        }
        pthread_mutex_unlock(&shim_lock);

        /* the handshake: the very first line on stdout, once the socket listens */
        printf("%d|%d|unix|%s|grpc|\n", CORE_PROTOCOL, APP_PROTOCOL, socket_path);
        fflush(stdout);
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null >= 0) {
                dup2(null, STDOUT_FILENO);
                close(null);
        }
        hclog_info("plugin started", "driver", shim.driver_name, "version", PACKAGE_VERSION, "socket", socket_path);

        for (;;) {
                grpc_event ev = grpc_completion_queue_next(shim_cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
                if (ev.type == GRPC_QUEUE_SHUTDOWN)
                        break;
                if (ev.type != GRPC_OP_COMPLETE)
                        continue;
                pthread_mutex_lock(&shim_lock);
                ShimTag *t = ev.tag;
                t->fn(t->owner, ev.success != 0);
                bool stop = shim.shutting_down;
                pthread_mutex_unlock(&shim_lock);
                if (stop) {
                        /* Shutdown was answered: leave without waiting for Nomad's SIGKILL */
                        cleanup_socket();
                        _exit(0);
                }
        }
        return 0;
}
