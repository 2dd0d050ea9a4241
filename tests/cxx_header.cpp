// The public header must compile as C++ and its functions link from C++.
#include <autoenc.h>

#include <cstdio>
#include <cstring>

int main()
{
    if (ae_version_number() != AE_VERSION_NUMBER)
        return 1;
    if (std::strcmp(ae_version_string(), AE_VERSION_STRING) != 0)
        return 1;
    ae_model *m = nullptr;
    if (ae_model_create(&m, 1, 28, 28, 1) != AE_OK)
        return 1;
    if (ae_model_add_dense(m, AE_ENCODER, 8, AE_ACT_RELU) != AE_OK)
        return 1;
    ae_model_free(m);
    std::printf("C++ client OK: libautoenc %s\n", ae_version_string());
    return 0;
}
