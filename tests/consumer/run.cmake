# Drives the consumer project (tests/consumer) in one of three ways:
#
#   cmake -DMODE=package|build-tree|subdirectory -DSOURCE_DIR=<bpatch source>
#         -DWORK_DIR=<scratch dir> [-DBUILD_DIR=<bpatch build dir>]
#         [-DCXX=<compiler>] [-DGENERATOR=<name>] [-DLAUNCHER=<ccache>]
#         -P run.cmake
#
# package:      install the already built bpatch of BUILD_DIR into
#               WORK_DIR/prefix (as fmt's find-package test does: the
#               library is not built again), then build the consumer with
#               find_package(bpatch CONFIG) against that prefix and run it;
#               then compile the same main.cpp with the flags of
#               `pkg-config --cflags --libs bpatch` and run that.
# build-tree:   build the consumer with find_package(bpatch CONFIG) finding
#               BUILD_DIR itself (its export(EXPORT bpatchTargets)) and run it.
# subdirectory: build the consumer with add_subdirectory(SOURCE_DIR) and run
#               it. This one must compile bpatch itself: without optimisation
#               or debug information (it only needs to link and run), and
#               through LAUNCHER (the build's compiler launcher) when set.
cmake_minimum_required(VERSION 3.25)

foreach(var MODE SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run.cmake: -D${var}=… is required")
  endif()
endforeach()

set(common_args -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0)
if(LAUNCHER)
  list(APPEND common_args -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
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

if(MODE STREQUAL "package" OR MODE STREQUAL "build-tree")
  if(NOT DEFINED BUILD_DIR OR NOT EXISTS ${BUILD_DIR}/bpatchTargets.cmake)
    message(FATAL_ERROR "run.cmake: -DBUILD_DIR=… must be a configured and built bpatch build "
                        "directory with BPATCH_INSTALL=ON (no ${BUILD_DIR}/bpatchTargets.cmake)")
  endif()
endif()

if(MODE STREQUAL "package")
  set(prefix ${WORK_DIR}/prefix)
  # The prefix is given at install time only: the package must not depend
  # on CMAKE_INSTALL_PREFIX as configured.
  run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

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
elseif(MODE STREQUAL "build-tree")
  run(${CMAKE_COMMAND} -S ${consumer_src} -B ${WORK_DIR}/consumer-build ${common_args}
      -DBPATCH_CONSUMER_MODE=package -DCMAKE_PREFIX_PATH=${BUILD_DIR} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
  if(NOT run_output MATCHES "found bpatch [0-9.]+ in ${BUILD_DIR}")
    message(FATAL_ERROR "find_package(bpatch) did not use the build tree ${BUILD_DIR}:\n${run_output}")
  endif()
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer-build -j2)
  run(${WORK_DIR}/consumer-build/consumer)
  message(STATUS "${run_output}")
elseif(MODE STREQUAL "subdirectory")
  run(${CMAKE_COMMAND} -S ${consumer_src} -B ${WORK_DIR}/consumer-build ${common_args}
      -DBPATCH_CONSUMER_MODE=subdirectory -DBPATCH_SOURCE_DIR=${SOURCE_DIR})
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer-build -j2)
  run(${WORK_DIR}/consumer-build/consumer)
  message(STATUS "${run_output}")
else()
  message(FATAL_ERROR "run.cmake: MODE must be package, build-tree or subdirectory, not `${MODE}`")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
