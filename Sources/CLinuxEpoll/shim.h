// Linux's epoll, which Swift's Glibc module does not export (no library to link: it is libc).
#include <sys/epoll.h>
