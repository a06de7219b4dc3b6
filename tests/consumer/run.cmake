# Drives the consumer project (tests/consumer) in one of two ways:
#
#   cmake -DMODE=package|subdirectory -DSOURCE_DIR=<bpatch source>
#         -DWORK_DIR=<scratch dir> [-DCXX=<compiler>] [-DGENERATOR=<name>]
#         -P run.cmake
#
# package:      configure, build (-j2, library only: no tests, CLI or
#               examples) and install bpatch into WORK_DIR/prefix, then build
#               the consumer with find_package(bpatch CONFIG) against that
#               prefix and run it; then compile the same main.cpp with the
#               flags of `pkg-config --cflags --libs bpatch` and run that.
# subdirectory: build the consumer with add_subdirectory(SOURCE_DIR) and run it.
#
# The copies of bpatch are built without optimisation or debug information
# (they only need to link and run), which keeps this test short.
cmake_minimum_required(VERSION 3.25)

foreach(var MODE SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run.cmake: -D${var}=… is required")
  endif()
endforeach()

set(common_args -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0)
if(CXX)
  list(APPEND common_args -DCMAKE_CXX_COMPILER=${CXX})
endif()
if(GENERATOR)
  list(APPEND common_args -G ${GENERATOR})
endif()

# Runs a command, echoing it; stops the test with its output on failure.
function(run)
  string(REPLACE ";" " " shown "${ARGN}")
  message(STATUS "run: ${shown}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${shown}\n${out}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(consumer_src ${SOURCE_DIR}/tests/consumer)

if(MODE STREQUAL "package")
  set(prefix ${WORK_DIR}/prefix)
  run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/bpatch-build ${common_args}
      -DBPATCH_BUILD_TESTS=OFF -DBPATCH_BUILD_CLI=OFF -DBPATCH_BUILD_EXAMPLES=OFF -DBPATCH_INSTALL=ON)
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/bpatch-build -j2)
  # The prefix is given at install time only: the package must not depend
  # on CMAKE_INSTALL_PREFIX as configured.
  run(${CMAKE_COMMAND} --install ${WORK_DIR}/bpatch-build --prefix ${prefix})

  run(${CMAKE_COMMAND} -S ${consumer_src} -B ${WORK_DIR}/consumer-build ${common_args}
      -DBPATCH_CONSUMER_MODE=package -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
  if(NOT run_output MATCHES "found bpatch [0-9.]+ in ${prefix}/")
    message(FATAL_ERROR "find_package(bpatch) did not use the package in ${prefix}:\n${run_output}")
  endif()
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer-build -j2)
  run(${WORK_DIR}/consumer-build/consumer)
  message(STATUS "${run_output}")

  # The same program through pkg-config, when there is a pkg-config.
  find_program(PKG_CONFIG_EXECUTABLE NAMES pkg-config pkgconf)
  file(GLOB pc_file ${prefix}/lib*/pkgconfig/bpatch.pc ${prefix}/lib/*/pkgconfig/bpatch.pc)
  if(NOT pc_file)
    message(FATAL_ERROR "bpatch.pc was not installed under ${prefix}")
  endif()
  if(PKG_CONFIG_EXECUTABLE)
    get_filename_component(pc_dir ${pc_file} DIRECTORY)
    set(ENV{PKG_CONFIG_PATH} "${pc_dir}")
    run(${PKG_CONFIG_EXECUTABLE} --cflags --libs bpatch)
    string(STRIP "${run_output}" pc_flags)
    separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
    if(NOT CXX)
      set(CXX c++)
    endif()
    run(${CXX} -std=c++20 ${consumer_src}/main.cpp ${pc_flags} -o ${WORK_DIR}/consumer-pkgconfig)
    run(${WORK_DIR}/consumer-pkgconfig)
    message(STATUS "pkg-config: ${run_output}")
  endif()
elseif(MODE STREQUAL "subdirectory")
  run(${CMAKE_COMMAND} -S ${consumer_src} -B ${WORK_DIR}/consumer-build ${common_args}
      -DBPATCH_CONSUMER_MODE=subdirectory -DBPATCH_SOURCE_DIR=${SOURCE_DIR})
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer-build -j2)
  run(${WORK_DIR}/consumer-build/consumer)
  message(STATUS "${run_output}")
else()
  message(FATAL_ERROR "run.cmake: MODE must be package or subdirectory, not `${MODE}`")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
