// Corpus: a steady leak. Every request allocates a buffer, fills it and keeps it on a list nobody frees.
// Truth: live heap and RSS grow at the same rate under every allocator.
//   leak PORT [BYTES_PER_REQUEST=8192]
#include "mini_http.h"

struct node { struct node *next; };
static struct node *kept;
static size_t bytes_per_request = 8192;

static void handle(void *ctx) {
  (void)ctx;
  struct node *n = malloc(bytes_per_request);
  if (!n) return;
  memset(n, 0x5a, bytes_per_request);
  n->next = kept;
  kept = n;
}

int main(int argc, char **argv) {
  int port = mini_http_port_arg(argc, argv);
  if (argc > 2) bytes_per_request = (size_t)atol(argv[2]);
  if (bytes_per_request < sizeof(struct node)) bytes_per_request = sizeof(struct node);
  mini_http_serve(port, handle, NULL);
}
