// tests/support/dump: canonical text of the metaverse and connector spaces,
// so tests compare whole states. References are shown as @TYPE:KEY where KEY
// is the referenced object's first attribute value (stable across runs,
// unlike database ids).
#pragma once

#include <string>

#include "core/error.h"

namespace idsync {

class Store;

// One line per MV object, sorted: `person employeeId=1001 manager=@person:1005`.
Result<std::string> DumpMetaverse(Store& store);
// One line per CS object of the MA, sorted by anchor:
// `ANCHOR dn=... link=connector import=none export=add attr=value ...`.
Result<std::string> DumpConnectorSpace(Store& store, const std::string& ma);

}  // namespace idsync
