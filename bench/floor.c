/* The kernel's share of a demo-runtime start: the same system calls a default start makes
 * (namespaces, the root from a held ext4 image under an overlay, /proc, /sys, /dev, the
 * masks, the cgroup namespace, pivot_root, exec of /bin/true), made by a small C process,
 * timed step by step. What is left of a start beyond this is the runtime's: its
 * interpreter's work and the forks of a Python process (bench/lifecycle.py --floor).
 *
 *     floor LOOP_DEVICE N CGROUP   (as root; LOOP_DEVICE: an attached ext4 image, read-only;
 *                                  CGROUP: a cgroup v2 directory to make the containers' in)
 *
 * Prints one line per step, "name median_ms", medians over N starts. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { CGROUP_MADE, CLONED, ROOT, KERNEL_FS, MASKS, CGROUP, PIVOT, LOCKED, STEPS };
static const char *names[STEPS + 3] = {
    "a cgroup v2 directory, its pids.max",
    "clone3 into new mount, PID, IPC, UTS, network namespaces",
    "the root: staging tmpfs, the held ext4 (read-only), an overlay",
    "/proc, /sys, /dev (tmpfs, 6 device binds, devpts, shm, mqueue), /etc/hosts",
    "masks: /dev/null or a tmpfs over Docker's paths, read-only binds",
    "cgroup namespace, cgroupfs read-only",
    "pivot_root, the old root detached",
    "hostname, lo up, session, no_new_privs",
    "exec of /bin/true, its run and exit, the wait",
    "the cgroup removed",
    "whole start",
};

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void must(int ok, const char *what, const char *path) {
    if (!ok) {
        fprintf(stderr, "floor: %s %s: %s\n", what, path ? path : "", strerror(errno));
        _exit(1);
    }
}

static void mnt(const char *src, const char *dst, const char *type, unsigned long flags, const char *data) {
    must(mount(src, dst, type, flags, data) == 0, "mount", dst);
}

/* A bind of /dev/null over a file, a read-only tmpfs over a directory; missing: skipped. */
static void mask(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode))
        mnt("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555");
    else
        mnt("/dev/null", path, NULL, MS_BIND, NULL);
}

static void read_only(const char *path) {
    if (access(path, F_OK) != 0)
        return;
    mnt(path, path, NULL, MS_BIND | MS_REC, NULL);
    mnt(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

static void child(const char *device, double *marks) {
    static const char *devices[] = {"null", "zero", "full", "random", "urandom", "tty"};
    static const char *masked[] = {"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore",
                                   "/proc/keys", "/proc/latency_stats", "/proc/sched_debug", "/proc/scsi",
                                   "/proc/timer_list", "/proc/timer_stats", "/sys/devices/virtual/powercap",
                                   "/sys/firmware"};
    static const char *ro[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
    char path[256];
    marks[CLONED] = now();
    mnt(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL);
    mnt("tmpfs", "/tmp", "tmpfs", MS_NOSUID, "mode=0755");
    const char *dirs[] = {"/tmp/root", "/tmp/lower", "/tmp/upper", "/tmp/work"};
    for (int i = 0; i < 4; i++)
        must(mkdir(dirs[i], 0755) == 0, "mkdir", dirs[i]);
    mnt(device, "/tmp/lower", "ext4", MS_RDONLY, "noload");
    mnt("image", "/tmp/root", "overlay", 0, "lowerdir=/tmp/lower,upperdir=/tmp/upper,workdir=/tmp/work");
    must(chdir("/tmp/root") == 0, "chdir", "/tmp/root");
    marks[ROOT] = now();
    unsigned long locked = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    mnt("proc", "proc", "proc", locked, NULL);
    mnt("sysfs", "sys", "sysfs", MS_RDONLY | locked, NULL);
    mnt("tmpfs", "dev", "tmpfs", locked, "mode=0755,size=64k");
    for (int i = 0; i < 6; i++) {
        snprintf(path, sizeof path, "dev/%s", devices[i]);
        int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        must(fd >= 0, "create", path);
        close(fd);
        snprintf(path + 64, sizeof path - 64, "/dev/%s", devices[i]);
        mnt(path + 64, path, NULL, MS_BIND, NULL);
    }
    const char *subdirs[] = {"dev/pts", "dev/shm", "dev/mqueue"};
    for (int i = 0; i < 3; i++)
        must(mkdir(subdirs[i], 0755) == 0, "mkdir", subdirs[i]);
    mnt("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
    mnt("shm", "dev/shm", "tmpfs", locked, "mode=1777,size=65536k");
    mnt("mqueue", "dev/mqueue", "mqueue", locked, NULL);
    int hosts = open("/tmp/hosts", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    must(hosts >= 0, "create", "/tmp/hosts");
    close(hosts);
    hosts = open("etc/hosts", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);  /* in the overlay */
    must(hosts >= 0, "create", "etc/hosts");
    close(hosts);
    mnt("/tmp/hosts", "etc/hosts", NULL, MS_BIND, NULL);
    marks[KERNEL_FS] = now();
    for (size_t i = 0; i < sizeof masked / sizeof *masked; i++) {
        snprintf(path, sizeof path, ".%s", masked[i]);
        mask(path);
    }
    for (size_t i = 0; i < sizeof ro / sizeof *ro; i++) {
        snprintf(path, sizeof path, ".%s", ro[i]);
        read_only(path);
    }
    marks[MASKS] = now();
    must(unshare(CLONE_NEWCGROUP) == 0, "unshare", "CLONE_NEWCGROUP");
    mnt("cgroup2", "sys/fs/cgroup", "cgroup2", MS_RDONLY | locked, NULL);
    marks[CGROUP] = now();
    must(syscall(SYS_pivot_root, ".", ".") == 0, "pivot_root", ".");
    must(umount2(".", MNT_DETACH) == 0, "umount2", ".");
    must(chdir("/") == 0, "chdir", "/");
    marks[PIVOT] = now();
    must(sethostname("floor", 5) == 0, "sethostname", NULL);
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq lo = {0};
    strcpy(lo.ifr_name, "lo");
    must(sock >= 0 && ioctl(sock, SIOCGIFFLAGS, &lo) == 0, "SIOCGIFFLAGS", "lo");
    lo.ifr_flags |= IFF_UP;
    must(ioctl(sock, SIOCSIFFLAGS, &lo) == 0, "SIOCSIFFLAGS", "lo");
    close(sock);
    setsid();
    must(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "prctl", "PR_SET_NO_NEW_PRIVS");
    marks[LOCKED] = now();
    char *argv[] = {"/bin/true", NULL}, *env[] = {NULL};
    execve("/bin/true", argv, env);
    must(0, "execve", "/bin/true");
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: floor LOOP_DEVICE N CGROUP\n");
        return 64;
    }
    int n = atoi(argv[2]);
    double *marks = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    double *took = calloc((size_t)(STEPS + 3) * n, sizeof *took);
    char cgroup[256], limit[300];
    if (marks == MAP_FAILED || !took || n < 1)
        return 1;
    for (int i = 0; i < n; i++) {
        double began = now();
        snprintf(cgroup, sizeof cgroup, "%s/floor-%d-%d", argv[3], (int)getpid(), i);
        must(mkdir(cgroup, 0755) == 0, "mkdir", cgroup);
        snprintf(limit, sizeof limit, "%s/pids.max", cgroup);
        int fd = open(limit, O_WRONLY | O_CLOEXEC); /* absent where pids is not enabled: as the runtime, none */
        if (fd >= 0) {
            must(write(fd, "2048", 4) == 4, "write", limit);
            close(fd);
        }
        int cgroup_fd = open(cgroup, O_PATH | O_DIRECTORY | O_CLOEXEC);
        must(cgroup_fd >= 0, "open", cgroup);
        marks[CGROUP_MADE] = now();
        struct clone_args args = {.flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET |
                                           CLONE_INTO_CGROUP,
                                  .exit_signal = SIGCHLD,
                                  .cgroup = (unsigned)cgroup_fd};
        long pid = syscall(SYS_clone3, &args, sizeof args);
        if (pid == 0)
            child(argv[1], marks);
        if (pid < 0) {
            perror("floor: clone3");
            return 1;
        }
        close(cgroup_fd);
        int status;
        waitpid(pid, &status, 0);
        double reaped = now();
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            return 1;
        must(rmdir(cgroup) == 0, "rmdir", cgroup);
        double ended = now();
        double previous = began;
        for (int s = 0; s < STEPS; s++) {
            took[s * n + i] = marks[s] - previous;
            previous = marks[s];
        }
        took[STEPS * n + i] = reaped - previous;
        took[(STEPS + 1) * n + i] = ended - reaped;
        took[(STEPS + 2) * n + i] = ended - began;
    }
    for (int s = 0; s < STEPS + 3; s++) {
        qsort(took + s * n, n, sizeof *took, by_value);
        printf("%s\t%.3f\n", names[s], took[s * n + n / 2]);
    }
    return 0;
}
