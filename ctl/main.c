/* ctl/main.c: lawtap-ctl, the operator's client of the mediator's REST API (ctl/ctl.h). */
#include "ctl.h"

int main(int argc, char **argv)
{
	return ctl_main(argc - 1, argv + 1, stdout, stderr);
}
