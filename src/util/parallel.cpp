// Thread settings for relnet's parallel loops.
#include "relnet/util/parallel.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace relnet {

void run_parallel_loops_serially_in_this_thread() {
  // LibTorch sets each thread's OpenMP thread count lazily, on the thread's
  // first parallel loop, to the process-wide intra-op count: let that happen
  // now, or it would later undo the setting below.
  (void)at::get_num_threads();
#ifdef _OPENMP
  omp_set_num_threads(1);
#endif
}

}  // namespace relnet
