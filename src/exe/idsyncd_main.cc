#include "server/service.h"

int main(int argc, char** argv) { return idsync::ServiceMain(argc, argv); }
