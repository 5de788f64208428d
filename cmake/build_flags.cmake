# Compiler flags for halt's own targets (library, tests, benchmarks, examples).
#
# Everything here is PRIVATE to each target, so none of it reaches a consumer through halt::halt,
# whether halt is installed or added with add_subdirectory.

if(NOT HALT_SANITIZER MATCHES "^(|address|thread)$")
  message(FATAL_ERROR "HALT_SANITIZER must be empty, 'address' or 'thread', not '${HALT_SANITIZER}'")
endif()

set(HALT_SANITIZER_FLAGS "")
if(HALT_SANITIZER STREQUAL "address")
  # UBSan rides along with ASan; -fno-sanitize-recover makes every UBSan report fatal, so ctest sees it.
  set(HALT_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
elseif(HALT_SANITIZER STREQUAL "thread")
  set(HALT_SANITIZER_FLAGS -fsanitize=thread -fno-omit-frame-pointer)
endif()

# halt_apply_build_flags(<target>)
#   C++20 without extensions, -Wall -Wextra -Wpedantic (-Werror when HALT_WARNINGS_AS_ERRORS), and the
#   HALT_SANITIZER flags on both compile and link lines. Call it for every target halt's tree defines.
function(halt_apply_build_flags target)
  set_target_properties(${target} PROPERTIES CXX_EXTENSIONS OFF)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(HALT_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
    if(HALT_SANITIZER STREQUAL "thread")
      # g++ 12 emits -Wtsan for std::atomic_thread_fence (used by Asio): TSan does not model fences.
      target_compile_options(${target} PRIVATE -Wno-error=tsan)
    endif()
  endif()
  if(HALT_SANITIZER_FLAGS)
    target_compile_options(${target} PRIVATE ${HALT_SANITIZER_FLAGS})
    target_link_options(${target} PRIVATE ${HALT_SANITIZER_FLAGS})
  endif()
endfunction()
