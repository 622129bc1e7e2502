// The glibcxx-force-new allocator environment.
import type { BuiltinProfile } from '../types';

export const glibcxxForceNew: BuiltinProfile = {
  id: 'glibcxx-force-new',
  label: 'GLIBCXX_FORCE_NEW=1',
  description:
    'Asks libstdc++ to bypass its pool allocators and call operator new directly. On GCC 12 this affects ' +
    'only the ext/ pool allocators (__gnu_cxx::__pool_alloc, __mt_alloc); std::allocator already calls ' +
    'operator new, so ordinary containers see no difference.',
  env: { GLIBCXX_FORCE_NEW: '1' },
  soname: null,
  debianPackage: null,
  tunesGlibcMalloc: false,
};
