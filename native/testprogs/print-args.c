// print-args: writes its working directory and every argv element to stdout, each followed by a NUL byte,
// so tests can check that paths and arguments arrive byte for byte.
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) strcpy(cwd, "?");
  fwrite(cwd, 1, strlen(cwd) + 1, stdout);
  for (int i = 0; i < argc; i++) fwrite(argv[i], 1, strlen(argv[i]) + 1, stdout);
  return 0;
}
