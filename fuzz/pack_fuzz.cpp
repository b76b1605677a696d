// Fuzzes the headers of a pack (`relnet data pack`), read from disk when a
// pack is loaded: a .npy preamble (parse_npy_preamble: magic, version,
// header length, the header dict's descr, fortran_order and shape, and the
// byte count the shape implies) and the pack's manifest pack.json
// (read_pack_info: JSON, nesting depth, format, version, every field's type,
// the splits). A control byte picks which.
#include "fuzz_common.h"
#include "relnet/data/npy.h"
#include "relnet/data/packed.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace relnet::fuzz;
  Input in(data, size);
  const uint8_t mode = in.byte();
  run_parser([&] {
    if (mode % 2 == 0) {
      // The input's own bytes, which end where libFuzzer's buffer ends: ASan
      // sees any read past them.
      const auto* bytes = reinterpret_cast<const char*>(in.data());
      relnet::parse_npy_preamble(bytes, in.size(), "fuzz.npy").data_bytes();
      return;
    }
    const fs::path root = scratch() / "pack";
    fs::create_directories(root);
    write_bytes(root / "pack.json", in.data(), in.size());
    relnet::read_pack_info(root.string());
  });
  return 0;
}
