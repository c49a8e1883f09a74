/* probe: tries one escape technique from inside a container and says how it went.
 *
 *   probe TECHNIQUE [ARGS...]
 *
 * Prints one line and exits with its status:
 *   OK <detail>                 0  the technique worked: isolation was breached
 *   DENIED <ERRNO> <detail>     1  the kernel refused it
 *   ERROR <detail>              2  the probe could not try (bad use, missing precondition)
 * Every technique is harmless to the host: files are opened for writing but never
 * written, modules are garbage the kernel rejects, a device is read for 512 bytes.
 * Part of demo-runtime's escape-attempt suite (tests/integration/security/).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_packet.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

static int ok(const char *fmt, const char *arg) {
    printf("OK ");
    printf(fmt, arg);
    printf("\n");
    return 0;
}

static int denied(int err, const char *what) {
    printf("DENIED %s %s: %s\n", strerrorname_np(err) ? strerrorname_np(err) : "?", what, strerror(err));
    return 1;
}

static int error(const char *what) {
    printf("ERROR %s\n", what);
    return 2;
}

/* open PATH for writing (never writes) */
static int t_open_write(int argc, char **argv) {
    if (argc < 1) return error("usage: open-write PATH");
    int fd = open(argv[0], O_WRONLY | O_NONBLOCK);
    if (fd < 0) return denied(errno, argv[0]);
    close(fd);
    return ok("opened %s for writing", argv[0]);
}

/* read PATH: OK only if it gave data */
static int t_read(int argc, char **argv) {
    if (argc < 1) return error("usage: read PATH");
    char buf[4096];
    int fd = open(argv[0], O_RDONLY | O_NONBLOCK);
    if (fd < 0) return denied(errno, argv[0]);
    ssize_t n = read(fd, buf, sizeof buf);
    int e = errno;
    close(fd);
    if (n < 0) return denied(e, argv[0]);
    if (n == 0) {
        printf("DENIED EMPTY %s reads as empty (masked)\n", argv[0]);
        return 1;
    }
    printf("OK read %zd bytes from %s\n", n, argv[0]);
    return 0;
}

/* mknod-read b|c MAJOR MINOR: make a device node in /tmp and read 512 bytes */
static int t_mknod_read(int argc, char **argv) {
    if (argc < 3) return error("usage: mknod-read b|c MAJOR MINOR");
    const char *path = "/tmp/.probe-device";
    unlink(path);
    mode_t type = argv[0][0] == 'b' ? S_IFBLK : S_IFCHR;
    if (mknod(path, type | 0600, makedev(atoi(argv[1]), atoi(argv[2]))) < 0) return denied(errno, "mknod");
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    int e = errno;
    unlink(path);
    if (fd < 0) return denied(e, "open of the new device node");
    char buf[512];
    ssize_t n = read(fd, buf, sizeof buf);
    e = errno;
    close(fd);
    if (n < 0 && e != EAGAIN) return denied(e, "read of the device");
    printf("OK opened device %s:%s:%s and read %zd bytes\n", argv[0], argv[1], argv[2], n);
    return 0;
}

/* chroot-escape HOSTPATH: the classic: chroot into a subdirectory keeping cwd outside,
 * climb with "..", chroot there, look for a file only the host has. */
static int t_chroot_escape(int argc, char **argv) {
    if (argc < 1) return error("usage: chroot-escape HOSTPATH");
    mkdir("/tmp/.probe-jail", 0700);
    if (chdir("/") < 0) return error("chdir /");
    if (chroot("/tmp/.probe-jail") < 0) return denied(errno, "chroot");
    for (int i = 0; i < 64; i++)
        if (chdir("..") < 0) break;
    if (chroot(".") < 0) return denied(errno, "second chroot");
    struct stat st;
    if (stat(argv[0], &st) == 0) return ok("escaped: %s is visible", argv[0]);
    printf("DENIED ENOENT still inside the image: %s is not visible\n", argv[0]);
    return 1;
}

static int t_mount(int argc, char **argv) {
    (void)argc; (void)argv;
    mkdir("/tmp/.probe-mnt", 0700);
    if (mount("probe", "/tmp/.probe-mnt", "tmpfs", 0, "size=16k") < 0) return denied(errno, "mount tmpfs");
    umount2("/tmp/.probe-mnt", MNT_DETACH);
    return ok("mounted a tmpfs%s", "");
}

/* release-agent: find a writable release_agent in what is mounted, else mount a
 * fresh cgroup v1 hierarchy and try its release_agent. Opens, never writes. */
static int t_release_agent(int argc, char **argv) {
    (void)argc; (void)argv;
    const char *mounted[] = {"/sys/fs/cgroup/release_agent", "/sys/fs/cgroup/memory/release_agent",
                             "/sys/fs/cgroup/pids/release_agent", "/sys/fs/cgroup/cpu/release_agent",
                             "/sys/fs/cgroup/systemd/release_agent", "/sys/fs/cgroup/unified/release_agent", NULL};
    for (int i = 0; mounted[i]; i++) {
        int fd = open(mounted[i], O_WRONLY);
        if (fd >= 0) { close(fd); return ok("opened %s for writing", mounted[i]); }
    }
    const char *dir = "/tmp/.probe-cgroup";
    mkdir(dir, 0700);
    const char *options[] = {"none,name=demo-runtime-probe", "memory", "pids", "rdma", NULL};
    int first = 0;
    for (int i = 0; options[i]; i++) {
        if (mount("cgroup", dir, "cgroup", 0, options[i]) < 0) {
            if (!first) first = errno;
            continue;
        }
        int fd = open("/tmp/.probe-cgroup/release_agent", O_WRONLY);
        int e = errno;
        if (fd >= 0) close(fd);
        umount2(dir, MNT_DETACH);
        if (fd >= 0) return ok("mounted cgroup v1 (%s) and opened its release_agent for writing", options[i]);
        if (!first || first == EPERM) first = e;
    }
    rmdir(dir);
    return denied(first ? first : ENOENT, "no release_agent to open for writing (mount cgroup v1, open release_agent)");
}

static int t_init_module(int argc, char **argv) {
    (void)argc; (void)argv;
    static char garbage[64] = "not an ELF module";
    if (syscall(SYS_init_module, garbage, sizeof garbage, "") == 0) return ok("init_module accepted garbage%s", "");
    int e = errno;
    if (e == EPERM || e == ENOSYS) return denied(e, "init_module");
    printf("OK init_module reached the module loader, which rejected the garbage: %s\n", strerrorname_np(e));
    return 0;
}

static int t_finit_module(int argc, char **argv) {
    (void)argc; (void)argv;
    int fd = open("/bin/busybox", O_RDONLY);
    if (fd < 0) fd = open("/proc/self/exe", O_RDONLY);
    if (syscall(SYS_finit_module, fd, "", 0) == 0) return ok("finit_module accepted a non-module%s", "");
    int e = errno;
    close(fd);
    if (e == EPERM || e == ENOSYS) return denied(e, "finit_module");
    printf("OK finit_module reached the module loader, which rejected the file: %s\n", strerrorname_np(e));
    return 0;
}

static int t_keyctl(int argc, char **argv) {
    (void)argc; (void)argv;
    long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0);
    if (id >= 0) return ok("keyctl works: the user keyring is reachable%s", "");
    int e = errno;
    if (e == EPERM || e == ENOSYS) return denied(e, "keyctl");
    printf("OK keyctl reached the kernel: %s\n", strerrorname_np(e));
    return 0;
}

static int t_perf(int argc, char **argv) {
    (void)argc; (void)argv;
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.disabled = 1;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    int fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
    if (fd < 0) return denied(errno, "perf_event_open");
    close(fd);
    return ok("perf_event_open gave a counter%s", "");
}

static int t_bpf(int argc, char **argv) {
    (void)argc; (void)argv;
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 1;
    int fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
    if (fd < 0) return denied(errno, "bpf(BPF_MAP_CREATE)");
    close(fd);
    return ok("bpf created a map%s", "");
}

static int t_unshare_user(int argc, char **argv) {
    (void)argc; (void)argv;
    if (unshare(CLONE_NEWUSER) < 0) return denied(errno, "unshare(CLONE_NEWUSER)");
    return ok("in a new user namespace%s", "");
}

/* signal PID: kill(PID, 0) */
static int t_signal(int argc, char **argv) {
    if (argc < 1) return error("usage: signal PID");
    if (kill(atoi(argv[0]), 0) < 0) return denied(errno, "kill(PID, 0)");
    return ok("process %s can be signalled", argv[0]);
}

static int t_abstract(int argc, char **argv) {
    if (argc < 1) return error("usage: connect-abstract NAME");
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(argv[0]);
    if (len + 1 > sizeof addr.sun_path) return error("name too long");
    memcpy(addr.sun_path + 1, argv[0], len);
    if (connect(s, (struct sockaddr *)&addr, offsetof(struct sockaddr_un, sun_path) + 1 + len) < 0)
        return denied(errno, "connect to the abstract socket");
    close(s);
    return ok("connected to the host's abstract socket @%s", argv[0]);
}

static int t_tcp(int argc, char **argv) {
    if (argc < 1) return error("usage: connect-tcp PORT");
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[0]))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) return denied(errno, "connect to 127.0.0.1");
    close(s);
    return ok("connected to 127.0.0.1:%s", argv[0]);
}

static int t_shm(int argc, char **argv) {
    if (argc < 1) return error("usage: shm ID");
    void *p = shmat(atoi(argv[0]), NULL, SHM_RDONLY);
    if (p == (void *)-1) return denied(errno, "shmat");
    shmdt(p);
    return ok("attached the host's shared memory segment %s", argv[0]);
}

/* raw-socket inet|packet: an ICMP raw socket, or a packet socket (what ARP spoofing needs) */
static int t_raw_socket(int argc, char **argv) {
    if (argc < 1) return error("usage: raw-socket inet|packet");
    int packet = !strcmp(argv[0], "packet");
    int s = packet ? socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)) : socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (s < 0) return denied(errno, packet ? "socket(AF_PACKET, SOCK_RAW)" : "socket(AF_INET, SOCK_RAW)");
    close(s);
    return ok("opened a raw %s socket", argv[0]);
}

/* arp-spoof IFACE CLAIMED_IP TARGET_IP: an ARP request to TARGET_IP that claims
 * CLAIMED_IP is at our MAC; the target records that in its neighbour table. */
static int t_arp_spoof(int argc, char **argv) {
    if (argc < 3) return error("usage: arp-spoof IFACE CLAIMED_IP TARGET_IP");
    struct in_addr claimed, target;
    if (!inet_aton(argv[1], &claimed) || !inet_aton(argv[2], &target)) return error("bad IPv4 address");
    int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ARP));
    if (s < 0) return denied(errno, "socket(AF_PACKET, SOCK_RAW)");
    struct ifreq ifr = {0};
    strncpy(ifr.ifr_name, argv[0], IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0) return error("SIOCGIFHWADDR");
    unsigned char *mac = (unsigned char *)ifr.ifr_hwaddr.sa_data, frame[42] = {0};
    memset(frame, 0xff, 6);                                   /* to everyone on the link */
    memcpy(frame + 6, mac, 6);
    frame[12] = 0x08, frame[13] = 0x06;                       /* ARP */
    unsigned char arp[8] = {0, 1, 8, 0, 6, 4, 0, 1};          /* Ethernet, IPv4, request */
    memcpy(frame + 14, arp, 8);
    memcpy(frame + 22, mac, 6);                               /* sender: our MAC ... */
    memcpy(frame + 28, &claimed, 4);                          /* ... with the claimed address */
    memcpy(frame + 38, &target, 4);
    struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP),
                             .sll_ifindex = if_nametoindex(argv[0]), .sll_halen = 6};
    memset(to.sll_addr, 0xff, 6);
    if (sendto(s, frame, sizeof frame, 0, (struct sockaddr *)&to, sizeof to) < 0) return denied(errno, "sendto");
    printf("OK sent an ARP request claiming %s is at %02x:%02x:%02x:%02x:%02x:%02x\n", argv[1],
           mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    return 0;
}

/* ping ADDRESS: one ICMP echo through an ICMP socket (no CAP_NET_RAW; the kernel
 * allows it to the groups in net.ipv4.ping_group_range). */
static int t_ping(int argc, char **argv) {
    if (argc < 1) return error("usage: ping IPV4ADDRESS");
    struct sockaddr_in to = {.sin_family = AF_INET};
    if (!inet_aton(argv[0], &to.sin_addr)) return error("bad IPv4 address");
    int s = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    if (s < 0) return denied(errno, "socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)");
    struct icmphdr echo = {.type = ICMP_ECHO, .un.echo.sequence = htons(1)};  /* the kernel sets id and checksum */
    if (sendto(s, &echo, sizeof echo, 0, (struct sockaddr *)&to, sizeof to) < 0) return denied(errno, "sendto");
    struct pollfd p = {.fd = s, .events = POLLIN};
    struct icmphdr reply;
    if (poll(&p, 1, 5000) != 1 || recv(s, &reply, sizeof reply, 0) < (ssize_t)sizeof reply) return error("no echo reply within 5 s");
    if (reply.type != ICMP_ECHOREPLY) return error("a reply that is not an echo reply");
    return ok("echo reply from %s", argv[0]);
}

/* connect-tcp6 ADDRESS IFACE PORT: TCP to an IPv6 (link-local) address through IFACE */
static int t_tcp6(int argc, char **argv) {
    if (argc < 3) return error("usage: connect-tcp6 ADDRESS IFACE PORT");
    struct sockaddr_in6 addr = {.sin6_family = AF_INET6, .sin6_port = htons(atoi(argv[2])),
                                .sin6_scope_id = if_nametoindex(argv[1])};
    if (inet_pton(AF_INET6, argv[0], &addr.sin6_addr) != 1) return error("bad IPv6 address");
    int s = socket(AF_INET6, SOCK_STREAM, 0);
    if (s < 0) return denied(errno, "socket(AF_INET6)");
    if (connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) return denied(errno, "connect over IPv6");
    close(s);
    return ok("connected to [%s] over IPv6", argv[0]);
}

/* fork-bomb MAX: fork until the kernel refuses (or MAX children: never the host's
 * every PID), then kill and reap every child. DENIED = bounded. */
static int t_fork_bomb(int argc, char **argv) {
    if (argc < 1) return error("usage: fork-bomb MAX");
    int max = atoi(argv[0]), n = 0, e = 0;
    pid_t *children = calloc(max, sizeof *children);
    if (!children) return error("calloc");
    for (; n < max; n++) {
        pid_t pid = fork();
        if (pid == 0) { pause(); _exit(0); }
        if (pid < 0) { e = errno; break; }
        children[n] = pid;
    }
    for (int i = 0; i < n; i++) kill(children[i], SIGKILL);
    for (int i = 0; i < n; i++) waitpid(children[i], NULL, 0);
    if (n == max) {
        printf("OK forked %d processes, none refused\n", n);
        return 0;
    }
    printf("DENIED %s fork refused after %d processes\n", strerrorname_np(e), n);
    return 1;
}

/* syscall NAME: a call the seccomp profile must refuse, made with harmless arguments.
 * OK = the call reached the kernel (any result other than EPERM). */
static int t_syscall(int argc, char **argv) {
    if (argc < 1) return error("usage: syscall NAME");
    const char *n = argv[0];
    long r;
    errno = 0;
    if (!strcmp(n, "kexec_load")) r = syscall(SYS_kexec_load, 0, 0, NULL, 0xffff0000UL);  /* bad flags: EINVAL */
    else if (!strcmp(n, "kexec_file_load")) r = syscall(SYS_kexec_file_load, -1, -1, 0, NULL, 0xffffUL);
    else if (!strcmp(n, "add_key")) r = syscall(SYS_add_key, "user", "demo-runtime-probe", "x", 1, 0);  /* keyring 0: EINVAL */
    else if (!strcmp(n, "request_key")) r = syscall(SYS_request_key, "user", "demo-runtime-probe-none", NULL, 0);
    else if (!strcmp(n, "keyctl")) r = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0);
    else if (!strcmp(n, "userfaultfd")) { r = syscall(SYS_userfaultfd, 1 /* UFFD_USER_MODE_ONLY */); if (r >= 0) close(r); }
    else if (!strcmp(n, "io_uring_setup")) r = syscall(SYS_io_uring_setup, 0, NULL);  /* 0 entries: EINVAL */
    else if (!strcmp(n, "swapon")) r = syscall(SYS_swapon, "/nonexistent-probe", 0);
    else if (!strcmp(n, "swapoff")) r = syscall(SYS_swapoff, "/nonexistent-probe");
    else if (!strcmp(n, "pivot_root")) r = syscall(SYS_pivot_root, "/nonexistent-probe", "/nonexistent-probe");
    else if (!strcmp(n, "mount")) r = syscall(SYS_mount, "none", "/nonexistent-probe", "tmpfs", 0, NULL);
    else if (!strcmp(n, "umount2")) r = syscall(SYS_umount2, "/nonexistent-probe", 0);
    else if (!strcmp(n, "reboot")) r = syscall(SYS_reboot, 0, 0, 0, NULL);  /* bad magic: EINVAL */
    else if (!strcmp(n, "clock_settime")) r = syscall(SYS_clock_settime, CLOCK_REALTIME, NULL);  /* EFAULT */
    else if (!strcmp(n, "unshare")) r = syscall(SYS_unshare, CLONE_NEWUSER);
    else if (!strcmp(n, "setns")) r = syscall(SYS_setns, -1, 0);  /* EBADF */
    else if (!strcmp(n, "bpf")) r = syscall(SYS_bpf, -1, NULL, 0);  /* bad command */
    else if (!strcmp(n, "perf_event_open")) r = syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);  /* EFAULT */
    else if (!strcmp(n, "init_module")) r = syscall(SYS_init_module, NULL, 0, "");
    else if (!strcmp(n, "finit_module")) r = syscall(SYS_finit_module, -1, "", 0);
    else if (!strcmp(n, "socket_alg")) { r = socket(38 /* AF_ALG */, SOCK_SEQPACKET, 0); if (r >= 0) close(r); }
    else if (!strcmp(n, "socket_vsock")) { r = socket(40 /* AF_VSOCK */, SOCK_STREAM, 0); if (r >= 0) close(r); }
    else return error("unknown syscall name");
    int e = errno;
    if (r < 0 && e == EPERM) return denied(e, n);
    printf("OK %s reached the kernel: %s\n", n, r < 0 ? strerrorname_np(e) : "succeeded");
    return 0;
}

/* type TEXT and Enter into the terminal on stdin with TIOCSTI, as if its user had */
static int t_tiocsti(int argc, char **argv) {
    if (argc < 1) return error("usage: tiocsti TEXT");
    if (!isatty(0)) return error("stdin is not a terminal");
    for (const char *c = argv[0]; *c; c++)
        if (ioctl(0, TIOCSTI, c) < 0) return denied(errno, "TIOCSTI on stdin");
    if (ioctl(0, TIOCSTI, "\n") < 0) return denied(errno, "TIOCSTI on stdin");
    return ok("typed %s into the terminal", argv[0]);
}

/* clear the parent-death signal, say so, and stay: a container that would outlive its runtime */
static int t_orphan(int argc, char **argv) {
    (void)argc, (void)argv;
    if (prctl(PR_SET_PDEATHSIG, 0) < 0) return denied(errno, "prctl(PR_SET_PDEATHSIG, 0)");
    ok("%s", "parent-death signal cleared");
    fflush(stdout);
    for (;;) pause();
}

struct technique { const char *name; int (*run)(int, char **); };
static const struct technique techniques[] = {
    {"open-write", t_open_write}, {"read", t_read}, {"mknod-read", t_mknod_read},
    {"chroot-escape", t_chroot_escape}, {"mount", t_mount}, {"release-agent", t_release_agent},
    {"init-module", t_init_module}, {"finit-module", t_finit_module}, {"keyctl", t_keyctl},
    {"perf-event-open", t_perf}, {"bpf", t_bpf}, {"unshare-user", t_unshare_user},
    {"signal", t_signal}, {"connect-abstract", t_abstract}, {"connect-tcp", t_tcp}, {"shm", t_shm},
    {"syscall", t_syscall}, {"tiocsti", t_tiocsti}, {"orphan", t_orphan}, {"raw-socket", t_raw_socket},
    {"arp-spoof", t_arp_spoof}, {"ping", t_ping}, {"connect-tcp6", t_tcp6}, {"fork-bomb", t_fork_bomb},
    {NULL, NULL},
};

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: probe TECHNIQUE [ARGS...]\n");
        return error("no technique");
    }
    for (const struct technique *t = techniques; t->name; t++)
        if (!strcmp(t->name, argv[1])) return t->run(argc - 2, argv + 2);
    return error("unknown technique");
}
