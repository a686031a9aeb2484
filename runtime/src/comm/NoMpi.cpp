//===- NoMpi.cpp - a runtime built without MPI ----------------------------===//

#include "moert/Communicator.h"

namespace moert {

StatusOr<std::unique_ptr<Communicator>> createMpiCommunicator(int) {
  return Status::error("this moe-run was built without MPI: install "
                       "libopenmpi-dev and rebuild to run under mpirun");
}

} // namespace moert
