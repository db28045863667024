# Runs asn1c once over all profile modules into OUT (emptied first), quietly: asn1c's listing
# of copied skeleton files goes to OUT/asn1c.log, and only a failure prints it.
#   cmake -DASN1C=/usr/bin/asn1c -DOUT=dir -DFLAGS=a|b -DMODULES=x.asn|y.asn -P run-asn1c.cmake
# (lists are |-separated so they survive the build tool's command line).
string(REPLACE "|" ";" flags "${FLAGS}")
string(REPLACE "|" ";" modules "${MODULES}")
file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT})
execute_process(COMMAND ${ASN1C} ${flags} ${modules} WORKING_DIRECTORY ${OUT}
                RESULT_VARIABLE rc OUTPUT_VARIABLE log ERROR_VARIABLE log)
file(WRITE ${OUT}/asn1c.log "${log}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "asn1c failed on the profile modules:\n${log}")
endif()
# The sample converter and its makefile are not part of the library.
file(REMOVE ${OUT}/converter-sample.c ${OUT}/Makefile.am.sample)

# asn1c 0.9.28 bug: CHOICE_decode_ber, reading the end-of-contents octets of an indefinite
# length, loops forever on "00 xx" with xx != 0 (the branch falls through to a comment saying
# UNREACHABLE). Make it fail the decode instead. (mediation/codec also refuses such input before
# asn1c sees it; this protects any other user of lawtap_asn1.) Newer asn1c: pattern absent, skip.
set(choice ${OUT}/constr_CHOICE.c)
file(READ ${choice} src)
set(bug "\t\t\t/* UNREACHABLE */\n")
string(FIND "${src}" "${bug}" at)
if(NOT at EQUAL -1)
  string(REPLACE "${bug}" "\t\t\tRETURN(RC_FAIL); /* lawtap: was an endless loop */\n" src "${src}")
  file(WRITE ${choice} "${src}")
endif()
