// idsync-setup as the next release would ship it: its schema has one more
// migration. Tests use it to upgrade a database the way a newer release
// does, then check that this release refuses to write to it (0x80230443).
#include "cli/commands.h"
#include "store/schema.h"

int main(int argc, char** argv) {
  idsync::AddMigrationForTesting("CREATE TABLE next_release_feature (id INTEGER PRIMARY KEY, note TEXT);");
  return idsync::SetupMain(argc, argv);
}
