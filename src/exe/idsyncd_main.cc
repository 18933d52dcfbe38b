#include "cli/commands.h"

int main(int argc, char** argv) { return idsync::ServiceMain(argc, argv); }
