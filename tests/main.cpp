#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>

// The test binaries live in build/tests/, away from the varkeeper binary: point the keeper's
// bundled-file lookup (keeper/install) at the build tree's share directory unless the caller
// chose another (the install test runs an installed tree with its own).
int main(int argc, char** argv) {
  ::setenv("VARKEEPER_HOME", VARKEEPER_SHARE_DIR, 0);
  doctest::Context context(argc, argv);
  return context.run();
}
