/* SPDX-License-Identifier: MIT */
/* tests/root/launch-execstack.c: libsbxtest-execstack.so, linked -z execstack. Loading it makes
 * ld.so turn the stack executable (mprotect with PROT_EXEC), which a task without prot_exec
 * must not get: ld.so then refuses to start the program. */
void sbxtest_execstack_linked(void);
void sbxtest_execstack_linked(void) {
}
