#include <stdbool.h>
#include <stdint.h>
#include <nftables/libnftables.h>
