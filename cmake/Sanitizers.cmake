# Sanitizer and fuzzing builds (clang): every target of the including
# directory and below is instrumented.
#   -DMOE_SANITIZE=address,undefined   AddressSanitizer + UBSan; any UB aborts
#   -DMOE_FUZZ=ON                      coverage for libFuzzer (fuzz/ targets)
set(MOE_SANITIZE "" CACHE STRING "sanitizers to build with, e.g. address,undefined")
option(MOE_FUZZ "instrument for libFuzzer and build the fuzz targets" OFF)

if(MOE_SANITIZE)
  add_compile_options(-fsanitize=${MOE_SANITIZE} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${MOE_SANITIZE})
endif()
if(MOE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "MOE_FUZZ needs clang (libFuzzer); configure with "
                        "-DCMAKE_CXX_COMPILER=clang++-19")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# clang would link its own OpenMP runtime beside the libgomp of OpenBLAS's
# OpenMP build; two thread pools fight over the cores. Use libgomp (omp.h
# comes from libomp-19-dev).
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND NOT OpenMP_CXX_FLAGS)
  find_library(MOE_LIBGOMP NAMES gomp libgomp.so.1 REQUIRED)
  foreach(lang C CXX)
    set(OpenMP_${lang}_FLAGS "-fopenmp=libgomp" CACHE STRING "")
    set(OpenMP_${lang}_LIB_NAMES "gomp" CACHE STRING "")
  endforeach()
  set(OpenMP_gomp_LIBRARY ${MOE_LIBGOMP} CACHE FILEPATH "")
endif()
