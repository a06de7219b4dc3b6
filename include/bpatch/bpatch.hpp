// bpatch — crash-safe, all-or-nothing binary patching. The umbrella header.
#pragma once

#include "bpatch/atomic.hpp"
#include "bpatch/change.hpp"
#include "bpatch/diff.hpp"
#include "bpatch/error.hpp"
#include "bpatch/file_system.hpp"
#include "bpatch/format.hpp"
#include "bpatch/hash.hpp"
#include "bpatch/io.hpp"
#include "bpatch/posix_file_system.hpp"
#include "bpatch/recovery.hpp"
#include "bpatch/script.hpp"
#include "bpatch/transaction.hpp"
