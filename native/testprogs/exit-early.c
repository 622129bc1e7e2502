// exit-early: complains on stderr and exits with code 3 at once (a target that never becomes ready).
#include <stdio.h>

int main(void) {
  fprintf(stderr, "exit-early: config file missing\n");
  fprintf(stderr, "exit-early: giving up\n");
  return 3;
}
