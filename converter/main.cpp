#include "converter/cli.h"

int main(int argc, char** argv) { return cyrconv::run_cli(argc, argv); }
