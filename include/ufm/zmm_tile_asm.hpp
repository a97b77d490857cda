#pragma once
/// The assembly shared by the two 24×8 register tiles of double multiply-adds (gemm.cpp's full tile of
/// C, and ufm_kernels.cpp's tile of logits for K > 24): their 24 accumulators live in zmm0–23, are
/// zeroed before the loop and stored after it, and the loops use zmm0–28. Written out in assembly
/// because GCC 12, from the intrinsics, kept accumulators on the stack (bench/HISTORY.md, session 47).
/// AVX-512 only; the macros are string pieces of an extended asm statement.

/// zmm0–23 = +0 (zeroing idioms: no execution port).
#define UFM_ZMM_ZERO_0_23                                                       \
  "vpxord %%zmm0, %%zmm0, %%zmm0\n\t" "vpxord %%zmm1, %%zmm1, %%zmm1\n\t"       \
  "vpxord %%zmm2, %%zmm2, %%zmm2\n\t" "vpxord %%zmm3, %%zmm3, %%zmm3\n\t"       \
  "vpxord %%zmm4, %%zmm4, %%zmm4\n\t" "vpxord %%zmm5, %%zmm5, %%zmm5\n\t"       \
  "vpxord %%zmm6, %%zmm6, %%zmm6\n\t" "vpxord %%zmm7, %%zmm7, %%zmm7\n\t"       \
  "vpxord %%zmm8, %%zmm8, %%zmm8\n\t" "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"       \
  "vpxord %%zmm10, %%zmm10, %%zmm10\n\t" "vpxord %%zmm11, %%zmm11, %%zmm11\n\t" \
  "vpxord %%zmm12, %%zmm12, %%zmm12\n\t" "vpxord %%zmm13, %%zmm13, %%zmm13\n\t" \
  "vpxord %%zmm14, %%zmm14, %%zmm14\n\t" "vpxord %%zmm15, %%zmm15, %%zmm15\n\t" \
  "vpxord %%zmm16, %%zmm16, %%zmm16\n\t" "vpxord %%zmm17, %%zmm17, %%zmm17\n\t" \
  "vpxord %%zmm18, %%zmm18, %%zmm18\n\t" "vpxord %%zmm19, %%zmm19, %%zmm19\n\t" \
  "vpxord %%zmm20, %%zmm20, %%zmm20\n\t" "vpxord %%zmm21, %%zmm21, %%zmm21\n\t" \
  "vpxord %%zmm22, %%zmm22, %%zmm22\n\t" "vpxord %%zmm23, %%zmm23, %%zmm23\n\t"

/// The 64 bytes at OUT + 64·i = zmm i, i = 0 … 23 (OUT: an operand naming a 64-byte aligned pointer,
/// "%[out]").
#define UFM_ZMM_STORE_0_23(OUT)                                                                                  \
  "vmovapd %%zmm0, 0(" OUT ")\n\t" "vmovapd %%zmm1, 64(" OUT ")\n\t" "vmovapd %%zmm2, 128(" OUT ")\n\t"          \
  "vmovapd %%zmm3, 192(" OUT ")\n\t" "vmovapd %%zmm4, 256(" OUT ")\n\t" "vmovapd %%zmm5, 320(" OUT ")\n\t"       \
  "vmovapd %%zmm6, 384(" OUT ")\n\t" "vmovapd %%zmm7, 448(" OUT ")\n\t" "vmovapd %%zmm8, 512(" OUT ")\n\t"       \
  "vmovapd %%zmm9, 576(" OUT ")\n\t" "vmovapd %%zmm10, 640(" OUT ")\n\t" "vmovapd %%zmm11, 704(" OUT ")\n\t"     \
  "vmovapd %%zmm12, 768(" OUT ")\n\t" "vmovapd %%zmm13, 832(" OUT ")\n\t" "vmovapd %%zmm14, 896(" OUT ")\n\t"    \
  "vmovapd %%zmm15, 960(" OUT ")\n\t" "vmovapd %%zmm16, 1024(" OUT ")\n\t" "vmovapd %%zmm17, 1088(" OUT ")\n\t"  \
  "vmovapd %%zmm18, 1152(" OUT ")\n\t" "vmovapd %%zmm19, 1216(" OUT ")\n\t" "vmovapd %%zmm20, 1280(" OUT ")\n\t" \
  "vmovapd %%zmm21, 1344(" OUT ")\n\t" "vmovapd %%zmm22, 1408(" OUT ")\n\t" "vmovapd %%zmm23, 1472(" OUT ")\n\t"

/// The clobber list of the registers the tiles use.
#define UFM_ZMM_CLOBBERS_0_28                                                               \
  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",           \
  "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", \
  "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28"
