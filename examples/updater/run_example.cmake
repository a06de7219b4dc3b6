# Runs the updater example on generated data and checks what it did:
#
#   cmake -DUPDATER=<updater> -DMAKE_RELEASE=<make_release> -DWORK_DIR=<dir>
#         -P run_example.cmake
#
#   1. a dry run changes nothing;
#   2. the update first recovers what an "earlier crash" left in the journal (a
#      torn temporary manifest: an uncommitted transaction), then turns app/
#      into exactly expected/ and leaves no journal record;
#   3. running it again fails (the files are no longer release 1) and changes nothing;
#   4. with a damaged patch it fails and leaves release 1 exactly as it was.
cmake_minimum_required(VERSION 3.25)

foreach(var UPDATER MAKE_RELEASE WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_example.cmake: -D${var}=… is required")
  endif()
endforeach()

# Runs the updater; checks its exit status; leaves its output in `output`.
function(run_updater want_status)
  execute_process(COMMAND ${UPDATER} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message(STATUS "updater ${ARGN} -> ${rc}\n${out}${err}")
  if(NOT rc STREQUAL want_status)
    message(FATAL_ERROR "updater ${ARGN}: exit status ${rc}, expected ${want_status}")
  endif()
  set(output "${out}${err}" PARENT_SCOPE)
endfunction()

# Fails unless the trees `have` and `want` hold the same files with the same
# bytes (the journal directory .bpatch is left out).
function(expect_same_tree have want)
  file(GLOB_RECURSE have_files RELATIVE ${have} ${have}/*)
  file(GLOB_RECURSE want_files RELATIVE ${want} ${want}/*)
  list(FILTER have_files EXCLUDE REGEX "^\\.bpatch/")
  list(SORT have_files)
  list(SORT want_files)
  if(NOT have_files STREQUAL want_files)
    message(FATAL_ERROR "${have} holds [${have_files}], expected [${want_files}]")
  endif()
  foreach(f IN LISTS want_files)
    execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${have}/${f} ${want}/${f} RESULT_VARIABLE differ)
    if(differ)
      message(FATAL_ERROR "${have}/${f} differs from ${want}/${f}")
    endif()
  endforeach()
endfunction()

function(make_release dir)
  execute_process(COMMAND ${MAKE_RELEASE} ${dir} ${ARGN} RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "make_release ${dir} failed: ${rc}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(run ${WORK_DIR}/run)
set(pristine ${WORK_DIR}/pristine)  # an untouched copy of release 1
make_release(${run})
make_release(${pristine})

# 1. A dry run validates everything (hashes, the patch) and writes nothing.
run_updater(0 --dry-run ${run}/app ${run}/update)
expect_same_tree(${run}/app ${pristine}/app)

# 2. The update itself, after a crash that left a torn manifest behind (a
# transaction that never reached its commit point, so recovery drops it).
file(WRITE ${run}/app/.bpatch/manifest-0000000000000001-00000001.tmp "bpatch-manifest 1\ntxid 00")
run_updater(0 ${run}/app ${run}/update)
if(NOT output MATCHES "recovered an interrupted update \\(0000000000000001-00000001\\): rolled back")
  message(FATAL_ERROR "the updater did not recover the interrupted transaction first")
endif()
if(NOT output MATCHES "updated to release 2")
  message(FATAL_ERROR "the updater did not report the update")
endif()
expect_same_tree(${run}/app ${run}/expected)
file(GLOB records ${run}/app/.bpatch/intent-* ${run}/app/.bpatch/manifest-*)
if(records)
  message(FATAL_ERROR "journal records left behind: ${records}")
endif()

# 3. Again: bin/app.bin is already release 2 and the other expectations fail.
run_updater(1 ${run}/app ${run}/update)
if(NOT output MATCHES "not release 1")
  message(FATAL_ERROR "the second run did not say why it refused")
endif()
expect_same_tree(${run}/app ${run}/expected)

# 4. A damaged patch (one byte of its new data flipped): the BPS CRCs catch
# it before anything is committed.
set(damaged ${WORK_DIR}/damaged)
make_release(${damaged} --damaged)
run_updater(1 ${damaged}/app ${damaged}/update)
if(NOT output MATCHES "damaged")
  message(FATAL_ERROR "the damaged patch was not reported as damaged")
endif()
expect_same_tree(${damaged}/app ${pristine}/app)

file(REMOVE_RECURSE ${WORK_DIR})
