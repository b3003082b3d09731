// Only the reentrant API: never fcgi_stdio.h, which redefines stdin, printf and FILE.
#include <fcgiapp.h>
