/* Fuzz target: the mediator config parser and validator over arbitrary YAML bytes. */
#include "mediation/mediation.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct med_config cfg;
	char err[512];
	if (med_config_load_mem("/fuzz/mediator.yaml", data, size, &cfg, err, sizeof err) == 0)
		med_config_clear(&cfg);
	return 0;
}
