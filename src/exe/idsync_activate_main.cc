#include "cli/commands.h"

int main(int argc, char** argv) { return idsync::ActivateMain(argc, argv); }
