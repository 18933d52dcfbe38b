#include "cli/commands.h"

int main(int argc, char** argv) { return idsync::SetupMain(argc, argv); }
