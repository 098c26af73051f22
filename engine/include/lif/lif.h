/* lif/lif.h — the whole public API of liblif. */
#ifndef LIF_LIF_H
#define LIF_LIF_H
#include "lif/status.h"
#include "lif/atomic.h"
#include "lif/autotune.h"
#include "lif/backend.h"
#include "lif/cpu.h"
#include "lif/recipe.h"
#include "lif/data.h"
#include "lif/npy.h"
#include "lif/ckpt.h"
#include "lif/measure.h"
#include "lif/net.h"
#include "lif/topology.h"
#include "lif/weights.h"
#endif
