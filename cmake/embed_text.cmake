# Writes a C++ header holding text files as raw string literals, so that a page's HTML, CSS and
# JS stay ordinary files under writers/ and ship inside the binary (no file to install or lose).
# Usage: cmake -DOUT=header.h -DNAMESPACE=ns -DASSETS=name1=file1,name2=file2 -P embed_text.cmake
set(text "// Generated from ${ASSETS} by cmake/embed_text.cmake: do not edit.\n#pragma once\n#include <string_view>\nnamespace ${NAMESPACE} {\n")
string(REPLACE "," ";" assets "${ASSETS}")
foreach(pair IN LISTS assets)
  string(FIND "${pair}" "=" eq)
  string(SUBSTRING "${pair}" 0 ${eq} name)
  math(EXPR from "${eq} + 1")
  string(SUBSTRING "${pair}" ${from} -1 file)
  file(READ "${file}" content)
  string(FIND "${content}" ")cyrconv_asset\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${file} contains the raw string delimiter )cyrconv_asset\"")
  endif()
  string(APPEND text "inline constexpr std::string_view ${name} = R\"cyrconv_asset(${content})cyrconv_asset\";\n")
endforeach()
string(APPEND text "}  // namespace ${NAMESPACE}\n")
file(WRITE "${OUT}" "${text}")
