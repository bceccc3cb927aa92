#include "hw/array_signals.h"

namespace isimdl {

std::ostream& operator<<(std::ostream& os, const ArrayFeed& v) {
  return os << "ArrayFeed(rows=" << v.a.size() << ", latch=" << v.latch << ")";
}
std::ostream& operator<<(std::ostream& os, const AccumulateCommand& v) {
  return os << "AccumulateCommand(valid=" << v.valid << ", v=" << v.v << ", c0=" << v.c0 << ")";
}
std::ostream& operator<<(std::ostream& os, const RequantRequest& v) {
  return os << "RequantRequest(valid=" << v.valid << ", v=" << v.v << ", c0=" << v.c0 << ")";
}

}  // namespace isimdl
