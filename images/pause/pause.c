/* The pod sandbox ("pause") process of the local images (hack/images.sh builds it with
 * gcc -static -Os, so the image holds nothing else). It holds the pod's namespaces open, reaps
 * any orphan the pod's PID namespace hands it (it is PID 1 there when the namespace is shared),
 * and exits 0 on SIGINT or SIGTERM so that stopping a sandbox is quick and clean. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int signo) {
  (void)signo;
  _exit(0);
}

static void on_child(int signo) {
  (void)signo;
  while (waitpid(-1, 0, WNOHANG) > 0) {
  }
}

static int handle(int signo, void (*handler)(int), int flags) {
  struct sigaction action = {0};
  action.sa_handler = handler;
  action.sa_flags = flags;
  sigemptyset(&action.sa_mask);
  return sigaction(signo, &action, 0);
}

int main(void) {
  /* Explicit handlers: a process started in the background by a shell inherits SIGINT ignored. */
  if (handle(SIGINT, on_stop, 0) != 0 || handle(SIGTERM, on_stop, 0) != 0 ||
      handle(SIGCHLD, on_child, SA_NOCLDSTOP | SA_RESTART) != 0) {
    return 1;
  }
  for (;;) {
    pause();
  }
}
