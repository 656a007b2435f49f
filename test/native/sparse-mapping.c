// A process with one sparse mapping, for the tests of a gentle process
// migration: argv[1] bytes of address space reserved without swap accounting
// (MAP_NORESERVE), as ASan's shadow memory and large reservations are, and
// three small pages of it written: its first, one in the middle, its last.
// Prints the mapping's start address in hex once they are, then waits to be killed.
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: sparse-mapping BYTES\n");
    return 2;
  }
  size_t bytes = strtoull(argv[1], NULL, 0);
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  char* region = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (region == MAP_FAILED) {
    perror("sparse-mapping: mmap");
    return 1;
  }
  // Small pages, so that the three written are three pages, not three huge ones.
  if (madvise(region, bytes, MADV_NOHUGEPAGE) != 0) perror("sparse-mapping: madvise");
  region[0] = 1;
  region[bytes / 2 / page * page] = 1;
  region[bytes - page] = 1;
  printf("%lx\n", (unsigned long)region);
  fflush(stdout);
  for (;;) pause();
}
