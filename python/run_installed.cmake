# Test: `cmake --install` the build into a fresh PREFIX, then run the pytest
# suite (TESTS) against the package found there, with nothing of the build
# tree on the Python path. conftest.py checks bpatch was imported from
# PREFIX/PACKAGE_DIR/bpatch.
# Usage: cmake -DBUILD_DIR=… -DPREFIX=… -DPACKAGE_DIR=… -DPYTHON=… -DTESTS=… -P run_installed.cmake
file(REMOVE_RECURSE ${PREFIX})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX}
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc}); it installs every target: build them all first")
endif()
foreach(f __init__.py _bpatch.pyi py.typed)
  if(NOT EXISTS ${PREFIX}/${PACKAGE_DIR}/bpatch/${f})
    message(FATAL_ERROR "not installed: ${PACKAGE_DIR}/bpatch/${f}")
  endif()
endforeach()
# Run from inside the prefix, so the current directory holds no bpatch either.
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env --unset=PYTHONPATH
          PYTHONPATH=${PREFIX}/${PACKAGE_DIR} PYTHONDONTWRITEBYTECODE=1
          BPATCH_EXPECT_PACKAGE_DIR=${PREFIX}/${PACKAGE_DIR}/bpatch
          ${PYTHON} -m pytest -q -p no:cacheprovider ${TESTS}
  WORKING_DIRECTORY ${PREFIX}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pytest against the installed package failed (exit ${rc})")
endif()
