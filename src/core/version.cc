#include "core/version.h"

namespace idsync {

std::string_view IdsyncVersion() { return IDSYNC_VERSION; }

}  // namespace idsync
