/* A stand-in for libnvidia-ml.so.1 with NVML's ABI (nvml.h, API v2 names), for tests on machines
 * without an NVIDIA GPU: one "Fake GPU" whose temperature is read from the file named by
 * FAKE_NVML_TEMP_FILE (degrees C; 40 when unset or unreadable), 81920 MiB of memory with 2048 in
 * use, 37 % busy, NVDEC 12 % busy. FAKE_NVML_NO_DEVICE=1 makes nvmlInit fail as it does when the
 * driver is not loaded. Built by tests/control.rs with `cc -shared -fPIC`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;
typedef void *nvmlDevice_t;
static int device_token;

int nvmlInit_v2(void) { return getenv("FAKE_NVML_NO_DEVICE") ? 9 /* NVML_ERROR_DRIVER_NOT_LOADED */ : 0; }
int nvmlShutdown(void) { return 0; }
const char *nvmlErrorString(int r) { return r == 9 ? "Driver Not Loaded" : "Unknown Error"; }
int nvmlDeviceGetCount_v2(unsigned int *n) { *n = 1; return 0; }
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *d) {
  if (i != 0) return 2; /* NVML_ERROR_INVALID_ARGUMENT */
  *d = &device_token;
  return 0;
}
int nvmlDeviceGetName(nvmlDevice_t d, char *name, unsigned int len) {
  (void)d;
  snprintf(name, len, "Fake GPU");
  return 0;
}
int nvmlDeviceGetTemperature(nvmlDevice_t d, int sensor, unsigned int *t) {
  (void)d;
  if (sensor != 0) return 2;
  unsigned int c = 40;
  const char *path = getenv("FAKE_NVML_TEMP_FILE");
  FILE *f = path ? fopen(path, "r") : NULL;
  if (f) {
    if (fscanf(f, "%u", &c) != 1) c = 40;
    fclose(f);
  }
  *t = c;
  return 0;
}
int nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t *m) {
  (void)d;
  m->total = 81920ULL << 20;
  m->used = 2048ULL << 20;
  m->free = m->total - m->used;
  return 0;
}
int nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t *u) {
  (void)d;
  u->gpu = 37;
  u->memory = 20;
  return 0;
}
int nvmlDeviceGetDecoderUtilization(nvmlDevice_t d, unsigned int *u, unsigned int *period) {
  (void)d;
  *u = 12;
  *period = 167000;
  return 0;
}
